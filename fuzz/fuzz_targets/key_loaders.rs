//! The JWK and PEM key loaders.
#![no_main]

use libfuzzer_sys::fuzz_target;
use line_channel_token::{PublicJwk, SigningKey};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(key) = SigningKey::parse(&text) {
        let _ = key.public_jwk().to_json();
    }
    let _ = PublicJwk::from_json(&text);
    let _ = PublicJwk::from_console_json(&text);
});
