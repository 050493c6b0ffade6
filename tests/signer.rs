//! The RS256 signer and client assertions, checked by independent implementations: the
//! `openssl` CLI here; PyJWT and jwcrypto in examples/line-token/tests/python_interop.rs,
//! where a build script can tell `cargo test` to list them as ignored when Python lacks them.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use line_channel_token::jwt::{Jwt, JwtError};
use line_channel_token::*;
use proptest::prelude::*;

const CHANNEL: &str = "1234567890";
const KID: &str = "9869e446-3489-4516-a83f-ec9214ad94d0";
const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

fn docs_key() -> SigningKey {
    SigningKey::parse(PYJWT_DOCS_KEY).unwrap()
}

#[test]
fn signatures_equal_openssl_byte_for_byte_and_openssl_verifies_them() {
    let dir = Scratch::new("openssl-sign");
    openssl(
        &["genrsa", "-traditional", "-out", "pkcs1.pem", "2048"],
        &dir.0,
    );
    let keys = [
        ("docs.pem", docs_key()),
        (
            "pkcs1.pem",
            SigningKey::parse(&dir.read("pkcs1.pem")).unwrap(),
        ),
    ];
    for (file, key) in keys {
        if file == "docs.pem" {
            dir.write(file, key.to_pkcs8_pem().unwrap());
        }
        openssl(&["pkey", "-in", file, "-pubout", "-out", "pub.pem"], &dir.0);
        for message in [
            &b""[..],
            b"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxIn0",
            &[0xffu8; 1000][..],
        ] {
            dir.write("in.bin", message);
            let ours = key.sign_rs256(message, &mut OsRng).unwrap();
            let theirs = openssl(&["dgst", "-sha256", "-sign", file, "in.bin"], &dir.0);
            assert_eq!(ours, theirs, "{file}: signatures differ");
            dir.write("sig.bin", &ours);
            let verdict = openssl(
                &[
                    "dgst",
                    "-sha256",
                    "-verify",
                    "pub.pem",
                    "-signature",
                    "sig.bin",
                    "in.bin",
                ],
                &dir.0,
            );
            assert_eq!(String::from_utf8_lossy(&verdict).trim(), "Verified OK");
        }
    }
}

#[test]
fn openssl_rejects_a_tampered_signature() {
    let dir = Scratch::new("openssl-tamper");
    let key = docs_key();
    dir.write("key.pem", key.to_pkcs8_pem().unwrap());
    openssl(
        &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"],
        &dir.0,
    );
    dir.write("in.bin", b"message");
    let mut sig = key.sign_rs256(b"message", &mut OsRng).unwrap();
    sig[100] ^= 1;
    dir.write("sig.bin", &sig);
    let out = Command::new("openssl")
        .args([
            "dgst",
            "-sha256",
            "-verify",
            "pub.pem",
            "-signature",
            "sig.bin",
            "in.bin",
        ])
        .current_dir(&dir.0)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn assertion_has_exactly_lines_header_and_claims() {
    let jwt = AssertionBuilder::new(CHANNEL, KID)
        .token_exp(Duration::from_secs(2_592_000))
        .sign(&docs_key(), NOW, &mut OsRng)
        .unwrap();
    let decoded = Jwt::verify_rs256(jwt.expose_secret(), docs_key().public_jwk()).unwrap();
    assert_eq!(
        serde_json::Value::Object(decoded.header),
        serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": KID})
    );
    assert_eq!(
        serde_json::Value::Object(decoded.claims),
        serde_json::json!({
            "iss": CHANNEL, "sub": CHANNEL, "aud": "https://api.line.me/",
            "exp": 1_700_000_000 + 1800, "token_exp": 2_592_000
        })
    );
    // Header first, in LINE's documented order.
    let header = jwt.expose_secret().split('.').next().unwrap();
    assert_eq!(header, "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Ijk4NjllNDQ2LTM0ODktNDUxNi1hODNmLWVjOTIxNGFkOTRkMCJ9");
}

#[test]
fn stateless_and_key_id_assertions_have_no_token_exp() {
    let jwt = AssertionBuilder::new(CHANNEL, KID)
        .ttl(Duration::from_secs(60))
        .sign(&docs_key(), NOW, &mut OsRng)
        .unwrap();
    let decoded = Jwt::decode_unverified(jwt.expose_secret()).unwrap();
    assert!(!decoded.claims.contains_key("token_exp"));
    assert_eq!(decoded.claim_u64("exp"), Some(1_700_000_060));
}

#[test]
fn verification_rejects_tampering_other_keys_and_other_algorithms() {
    let key = docs_key();
    let other = SigningKey::parse(NODE_JOSE_DOCS_KEY).unwrap();
    let jwt = AssertionBuilder::new(CHANNEL, KID)
        .sign(&key, NOW, &mut OsRng)
        .unwrap();
    let jwt = jwt.expose_secret();
    assert_eq!(
        Jwt::verify_rs256(jwt, other.public_jwk()),
        Err(JwtError::BadSignature)
    );
    let parts: Vec<&str> = jwt.split('.').collect();
    let forged_claims = "eyJpc3MiOiIxIn0";
    let forged = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
    assert_eq!(
        Jwt::verify_rs256(&forged, key.public_jwk()),
        Err(JwtError::BadSignature)
    );
    let none_alg = format!("eyJhbGciOiJub25lIn0.{}.", parts[1]);
    assert!(
        matches!(Jwt::verify_rs256(&none_alg, key.public_jwk()), Err(JwtError::Algorithm(a)) if a == "none")
    );
    for bad in [
        "",
        "a.b",
        "a.b.c.d",
        "!!.e30.",
        "e30.!!.",
        "W10.e30.",
        &format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
    ] {
        assert!(Jwt::verify_rs256(bad, key.public_jwk()).is_err(), "{bad}");
    }
}

#[test]
fn assertion_rules_are_enforced_before_signing() {
    let key = docs_key();
    let sign = |b: AssertionBuilder| b.sign(&key, NOW, &mut OsRng);
    assert_eq!(
        sign(AssertionBuilder::new("", KID)).unwrap_err(),
        AssertionError::ChannelId
    );
    assert_eq!(
        sign(AssertionBuilder::new("my-channel", KID)).unwrap_err(),
        AssertionError::ChannelId
    );
    assert_eq!(
        sign(AssertionBuilder::new(CHANNEL, " ")).unwrap_err(),
        AssertionError::Kid
    );
    let too_long = Duration::from_secs(1801);
    assert_eq!(
        sign(AssertionBuilder::new(CHANNEL, KID).ttl(too_long)).unwrap_err(),
        AssertionError::Ttl(too_long)
    );
    assert_eq!(
        sign(AssertionBuilder::new(CHANNEL, KID).ttl(Duration::ZERO)).unwrap_err(),
        AssertionError::Ttl(Duration::ZERO)
    );
    let month_and_a_bit = Duration::from_secs(2_592_001);
    assert_eq!(
        sign(AssertionBuilder::new(CHANNEL, KID).token_exp(month_and_a_bit)).unwrap_err(),
        AssertionError::TokenExp(month_and_a_bit)
    );
    assert!(sign(AssertionBuilder::new(CHANNEL, KID).token_exp(Duration::ZERO)).is_err());
    let e = sign(AssertionBuilder::new(CHANNEL, KID).ttl(too_long)).unwrap_err();
    assert!(e.to_string().contains("1 to 1800 seconds"), "{e}");
    // The limits themselves are accepted.
    sign(
        AssertionBuilder::new(CHANNEL, KID)
            .ttl(Duration::from_secs(1800))
            .token_exp(Duration::from_secs(2_592_000)),
    )
    .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn claims_are_accepted_exactly_within_lines_limits(ttl in 0u64..4000, token_exp in 0u64..3_000_000) {
        let b = AssertionBuilder::new(CHANNEL, KID).ttl(Duration::from_secs(ttl)).token_exp(Duration::from_secs(token_exp));
        let ok = (1..=1800).contains(&ttl) && (1..=2_592_000).contains(&token_exp);
        let claims = b.claims(NOW);
        prop_assert_eq!(claims.is_ok(), ok);
        if let Ok(c) = claims {
            prop_assert_eq!(c.exp, NOW.as_secs() + ttl);
            prop_assert_eq!(c.token_exp, Some(token_exp));
        }
    }

    #[test]
    fn jwt_decoding_never_panics(token in "[A-Za-z0-9_.=-]{0,300}") {
        let _ = Jwt::decode_unverified(&token);
        let _ = Jwt::verify_rs256(&token, docs_key().public_jwk());
    }
}
