//! JWT decoding and RS256 verification.
#![no_main]

use libfuzzer_sys::fuzz_target;
use line_channel_token::jwt::Jwt;
use line_channel_token::PublicJwk;

const KEY: &str = include_str!("../../tests/keys/line-docs-pyjwt.jwk.json");

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(jwt) = Jwt::decode_unverified(&text) {
        let _ = (jwt.kid(), jwt.claim_u64("exp"), jwt.claim_str("iss"));
    }
    if let Ok(key) = PublicJwk::from_json(KEY) {
        let _ = Jwt::verify_rs256(&text, &key);
    }
});
