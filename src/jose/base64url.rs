//! Base64url without padding (RFC 7515 §2), as JWS and JWK use it.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// Encodes without padding; decodes strictly (no padding, no whitespace, canonical bits).
const STRICT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Accepts padding too, for keys written by tools that pad.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub(crate) fn encode(bytes: &[u8]) -> String {
    STRICT.encode(bytes)
}

pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    STRICT.encode_string(bytes, out)
}

/// JWS segments: strict. (Only the emulator decodes JWS.)
#[cfg(feature = "emulator")]
pub(crate) fn decode(s: &str) -> Option<Vec<u8>> {
    STRICT.decode(s).ok()
}

/// JWK members: padding tolerated.
pub(crate) fn decode_lenient(s: &str) -> Option<Vec<u8>> {
    LENIENT.decode(s).ok()
}
