//! A key is proved sound when it loads: tampered keys (tests/keys/tampered, written by its
//! make.py; `openssl rsa -check` refuses each for the same reason) are refused at load, in
//! every format, with a message that names what is wrong.

use line_channel_token::{KeyError, SigningKey};

fn tampered(name: &str, format: &str) -> String {
    let path = format!(
        "{}/tests/keys/tampered/{name}.{format}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const FORMATS: [&str; 3] = ["jwk.json", "pkcs1.pem", "pkcs8.pem"];

#[test]
fn the_untampered_control_loads_in_every_format() {
    let docs = SigningKey::parse(include_str!("keys/line-docs-pyjwt.jwk.json")).unwrap();
    for format in FORMATS {
        let key = SigningKey::parse(&tampered("control", format)).unwrap();
        assert_eq!(key.public_jwk(), docs.public_jwk(), "{format}");
    }
}

#[test]
fn each_wrong_number_is_named() {
    for (name, member, words) in [
        ("wrong-d", "d", "d is not the private exponent"),
        (
            "wrong-dp",
            "dp",
            "dp (PKCS#1 exponent1) is not d mod (p − 1)",
        ),
        (
            "wrong-dq",
            "dq",
            "dq (PKCS#1 exponent2) is not d mod (q − 1)",
        ),
        ("wrong-qi", "qi", "qi (PKCS#1 coefficient) is not q⁻¹ mod p"),
    ] {
        for format in FORMATS {
            let err = SigningKey::parse(&tampered(name, format)).unwrap_err();
            assert_eq!(err, KeyError::Inconsistent(member), "{name}.{format}");
            assert!(err.to_string().contains(words), "{name}.{format}: {err}");
        }
    }
}

#[test]
fn a_composite_prime_is_refused_at_load_not_at_the_first_signature() {
    for format in FORMATS {
        let err = SigningKey::parse(&tampered("composite-p", format)).unwrap_err();
        assert_eq!(err, KeyError::NotPrime("p"), "{format}");
        assert!(err.to_string().starts_with("p is not prime"), "{err}");
    }
}

/// The attack of the second hostile review: `p` a 1024-bit Chernick Carmichael number (the
/// product of three primes of about 341 bits), `n`, `d` and the CRT values consistent. Every
/// Fermat test and the load-time signature pass; `openssl rsa -check` says "p not prime".
#[test]
fn a_carmichael_p_is_refused_at_load_naming_p() {
    for format in FORMATS {
        let err = SigningKey::parse(&tampered("carmichael-p", format)).unwrap_err();
        assert_eq!(err, KeyError::NotPrime("p"), "{format}");
        assert!(err.to_string().starts_with("p is not prime"), "{err}");
    }
}

#[test]
fn p_and_q_that_do_not_multiply_to_n_are_named() {
    let control: serde_json::Value =
        serde_json::from_str(&tampered("control", "jwk.json")).unwrap();
    let composite: serde_json::Value =
        serde_json::from_str(&tampered("composite-p", "jwk.json")).unwrap();
    let mut mixed = control.clone();
    mixed["p"] = composite["p"].clone();
    let err = SigningKey::parse(&mixed.to_string()).unwrap_err();
    assert_eq!(err, KeyError::Inconsistent("p, q"));
    assert!(err.to_string().contains("do not multiply to n"), "{err}");
}

#[test]
fn messages_never_echo_key_material() {
    let jwk: serde_json::Value = serde_json::from_str(&tampered("wrong-dp", "jwk.json")).unwrap();
    for name in [
        "wrong-d",
        "wrong-dp",
        "wrong-dq",
        "wrong-qi",
        "composite-p",
        "carmichael-p",
    ] {
        for format in FORMATS {
            let err = SigningKey::parse(&tampered(name, format)).unwrap_err();
            let shown = format!("{err} {err:?}");
            for member in ["d", "p", "q", "dp", "dq", "qi"] {
                let value = jwk[member].as_str().unwrap();
                assert!(
                    !shown.contains(&value[..12]),
                    "{name}.{format} shows {member}"
                );
            }
        }
    }
}

mod property {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use proptest::prelude::*;

    const MEMBERS: [&str; 6] = ["d", "p", "q", "dp", "dq", "qi"];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Any change to one secret number of a good key is caught at load, and named: the key
        /// never loads to fail later, and no input panics.
        #[test]
        fn one_changed_number_never_loads(member in 0..MEMBERS.len(), at in 0usize..128, xor in 1u8..=255) {
            let name = MEMBERS[member];
            let mut jwk: serde_json::Value =
                serde_json::from_str(&tampered("control", "jwk.json")).unwrap();
            let text = jwk[name].as_str().unwrap().to_owned();
            let mut bytes = base64url_decode(&text);
            let at = at % bytes.len();
            bytes[at] ^= xor;
            jwk[name] = serde_json::Value::String(base64url_encode(&bytes));
            let err = SigningKey::parse(&jwk.to_string()).unwrap_err();
            prop_assert!(
                matches!(err, KeyError::Inconsistent(_) | KeyError::NotPrime(_)),
                "{name}[{at}] ^= {xor}: {err:?}"
            );
        }
    }

    fn base64url_decode(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).unwrap()
    }

    fn base64url_encode(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }
}
