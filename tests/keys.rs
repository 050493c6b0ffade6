//! Loading, refusing, generating and exporting assertion signing keys.

mod common;

use common::*;
use line_channel_token::*;
use proptest::prelude::*;
use serde_json::{json, Value};

fn jwk_with(base: &str, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut v: Value = serde_json::from_str(base).unwrap();
    edit(v.as_object_mut().unwrap());
    v.to_string()
}

#[test]
fn line_docs_example_keys_load() {
    for text in [PYJWT_DOCS_KEY, NODE_JOSE_DOCS_KEY] {
        let key = SigningKey::parse(text).unwrap();
        let expected_n = serde_json::from_str::<Value>(text).unwrap()["n"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(key.public_jwk().n(), expected_n);
        assert_eq!(key.public_jwk().e(), "AQAB");
    }
}

#[test]
fn browser_and_jwx_style_jwks_load() {
    // WebCrypto: alg, ext, key_ops ["sign"], no use; jwx: use "sig"; minimal: neither.
    let webcrypto = jwk_with(PYJWT_DOCS_KEY, |m| {
        m.remove("use");
        m.insert("ext".into(), json!(true));
        m.insert("key_ops".into(), json!(["sign"]));
    });
    let minimal = jwk_with(PYJWT_DOCS_KEY, |m| {
        m.remove("use");
        m.remove("alg");
    });
    let with_kid = jwk_with(PYJWT_DOCS_KEY, |m| {
        m.insert("kid".into(), json!("536e453c"));
    });
    // Only n, e, d: the primes are recovered.
    let no_primes = jwk_with(PYJWT_DOCS_KEY, |m| {
        for k in ["p", "q", "dp", "dq", "qi"] {
            m.remove(k);
        }
    });
    let reference = SigningKey::parse(PYJWT_DOCS_KEY).unwrap();
    for text in [webcrypto, minimal, with_kid, no_primes] {
        let key = SigningKey::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(key.public_jwk(), reference.public_jwk());
    }
}

#[test]
fn private_jwk_export_round_trips_and_has_no_kid() {
    let key = SigningKey::parse(NODE_JOSE_DOCS_KEY).unwrap();
    let exported = key.to_private_jwk();
    let v: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(v["kty"], "RSA");
    assert_eq!(v["alg"], "RS256");
    assert!(v.get("kid").is_none());
    let again = SigningKey::parse(&exported).unwrap();
    assert_eq!(again.public_jwk(), key.public_jwk());
    // The exported members equal the originals (dp, dq, qi included).
    let original: Value = serde_json::from_str(NODE_JOSE_DOCS_KEY).unwrap();
    for m in ["n", "e", "d", "dp", "dq", "qi"] {
        assert_eq!(v[m], original[m], "{m}");
    }
}

#[test]
fn pkcs8_export_round_trips() {
    let key = SigningKey::parse(PYJWT_DOCS_KEY).unwrap();
    let pem = key.to_pkcs8_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_eq!(
        SigningKey::parse(&pem).unwrap().public_jwk(),
        key.public_jwk()
    );
}

#[test]
fn console_public_jwk_is_exactly_what_line_wants() {
    let key = SigningKey::parse(PYJWT_DOCS_KEY).unwrap();
    let v: Value = serde_json::from_str(&key.public_jwk().to_json()).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(sorted, ["alg", "e", "kty", "n", "use"]);
    assert_eq!(
        (v["kty"].as_str(), v["alg"].as_str(), v["use"].as_str()),
        (Some("RSA"), Some("RS256"), Some("sig"))
    );
    // The Console-rules parser accepts it back, and refuses a kid or private members.
    assert!(PublicJwk::from_console_json(&key.public_jwk().to_json()).is_ok());
    let with_kid = jwk_with(&key.public_jwk().to_json(), |m| {
        m.insert("kid".into(), json!("x"));
    });
    assert_eq!(
        PublicJwk::from_console_json(&with_kid),
        Err(KeyError::HasKid)
    );
    assert_eq!(
        PublicJwk::from_console_json(PYJWT_DOCS_KEY).unwrap_err(),
        KeyError::PrivateGiven
    );
}

#[test]
fn thumbprint_matches_rfc_7638_example() {
    // RFC 7638 §3.1's example key and thumbprint (a 2048-bit modulus).
    let jwk = PublicJwk::from_json(r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#).unwrap();
    assert_eq!(
        jwk.thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn debug_and_errors_never_show_key_material() {
    let key = SigningKey::parse(PYJWT_DOCS_KEY).unwrap();
    let d = serde_json::from_str::<Value>(PYJWT_DOCS_KEY).unwrap()["d"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = format!("{key:?} {:?}", key.public_jwk());
    assert!(!shown.contains(&d[..20]), "{shown}");
    assert!(shown.contains("thumbprint"));
    let bad = jwk_with(PYJWT_DOCS_KEY, |m| {
        m.insert("dp".into(), json!(d.clone()));
    });
    let e = SigningKey::parse(&bad).unwrap_err();
    assert!(!format!("{e} {e:?}").contains(&d[..20]));
}

// ---- refusals ----

fn refused(text: &str) -> KeyError {
    SigningKey::parse(text).expect_err("the key must be refused")
}

#[test]
fn refuses_public_only_keys() {
    let public = SigningKey::parse(PYJWT_DOCS_KEY)
        .unwrap()
        .public_jwk()
        .to_json();
    assert_eq!(refused(&public), KeyError::PublicOnly);
    assert!(refused(&public).to_string().contains("private key"));
}

#[test]
fn refuses_non_rsa_and_non_rs256_keys() {
    let ec = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cLyVxW2sFKlNyhYXF7Kx5Y"}"#;
    assert_eq!(refused(ec), KeyError::NotRsa("EC".into()));
    let hs = jwk_with(PYJWT_DOCS_KEY, |m| {
        m.insert("alg".into(), json!("RS512"));
    });
    assert_eq!(refused(&hs), KeyError::WrongAlgorithm("RS512".into()));
    let enc = jwk_with(PYJWT_DOCS_KEY, |m| {
        m.insert("use".into(), json!("enc"));
    });
    assert_eq!(refused(&enc), KeyError::WrongUse);
    let verify_only = jwk_with(PYJWT_DOCS_KEY, |m| {
        m.remove("use");
        m.insert("key_ops".into(), json!(["verify"]));
    });
    assert_eq!(refused(&verify_only), KeyError::WrongUse);
    let no_kty = jwk_with(PYJWT_DOCS_KEY, |m| {
        m.remove("kty");
    });
    assert_eq!(refused(&no_kty), KeyError::MissingParameter("kty"));
}

#[test]
fn refuses_inconsistent_parameters() {
    let original: Value = serde_json::from_str(PYJWT_DOCS_KEY).unwrap();
    let other: Value = serde_json::from_str(NODE_JOSE_DOCS_KEY).unwrap();
    // Swap in the other key's member: the numbers no longer fit together.
    for member in ["n", "d", "p", "q", "dp", "dq", "qi"] {
        let bad = jwk_with(PYJWT_DOCS_KEY, |m| {
            m.insert(member.into(), other[member].clone());
        });
        let e = refused(&bad);
        assert!(matches!(e, KeyError::Inconsistent(_)), "{member}: {e:?}");
        assert!(e.to_string().contains("inconsistent"), "{e}");
    }
    let swapped_e = jwk_with(PYJWT_DOCS_KEY, |m| {
        m.insert("e".into(), json!("AQAD")); // 65539
    });
    assert!(matches!(refused(&swapped_e), KeyError::Inconsistent(_)));
    let d_zero = jwk_with(PYJWT_DOCS_KEY, |m| {
        m.insert("d".into(), json!("AA"));
        m.remove("p");
        m.remove("q");
    });
    assert_eq!(refused(&d_zero), KeyError::Inconsistent("d"));
    let only_p = jwk_with(PYJWT_DOCS_KEY, |m| {
        m.remove("q");
    });
    assert_eq!(refused(&only_p), KeyError::MissingParameter("q"));
    let multi = jwk_with(PYJWT_DOCS_KEY, |m| {
        m.insert("oth".into(), json!([]));
    });
    assert_eq!(refused(&multi), KeyError::MultiPrime);
    assert_eq!(original["kty"], "RSA");
}

#[test]
fn refuses_bad_base64url() {
    for member in ["n", "d", "p", "dp"] {
        let bad = jwk_with(PYJWT_DOCS_KEY, |m| {
            m.insert(member.into(), json!("not base64!"));
        });
        assert_eq!(refused(&bad), KeyError::BadBase64(member), "{member}");
    }
}

#[test]
fn refuses_wrong_sizes() {
    // A 1024-bit modulus (drop the top half of n).
    let short = jwk_with(PYJWT_DOCS_KEY, |m| {
        let n = m["n"].as_str().unwrap().to_owned();
        m.insert("n".into(), json!(n[..168].to_owned()));
    });
    assert!(matches!(refused(&short), KeyError::WrongSize(b) if b < 2048));
    assert!(refused(&short).to_string().contains("2048"));
}

#[test]
fn refuses_malformed_input() {
    assert_eq!(refused(""), KeyError::UnrecognizedFormat);
    assert_eq!(refused("hello"), KeyError::UnrecognizedFormat);
    assert!(matches!(refused("{\"kty\": "), KeyError::Json(_)));
    assert!(matches!(refused("[1,2]"), KeyError::UnrecognizedFormat));
    assert!(matches!(
        refused("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        KeyError::Pem(_)
    ));
    assert!(matches!(
        refused("-----BEGIN RSA PRIVATE KEY-----\n!!\n-----END RSA PRIVATE KEY-----\n"),
        KeyError::Pem(_)
    ));
    assert_eq!(
        refused("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
        KeyError::PublicOnly
    );
    assert_eq!(
        refused(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
        ),
        KeyError::Encrypted
    );
    assert!(refused("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
        .to_string()
        .contains("openssl pkey"));
    assert_eq!(
        refused("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"),
        KeyError::NotRsa("EC".into())
    );
    assert_eq!(
        refused("-----BEGIN FOO-----\n-----END FOO-----\n"),
        KeyError::UnrecognizedFormat
    );
}

/// Valid JSON that is not a usable JWK (a member twice, as RFC 7517 §4 forbids, or of the wrong
/// type) is named as such, not called invalid JSON, and its content is not echoed.
#[test]
fn refuses_duplicate_and_mistyped_members_by_name() {
    let good = include_str!("keys/line-docs-pyjwt.jwk.json").trim();
    let d = serde_json::from_str::<Value>(good).unwrap()["d"]
        .as_str()
        .unwrap()
        .to_owned();
    let duplicate_d = format!("{}, \"d\": \"{}\"}}", &good[..good.len() - 1], &d[..30]);
    let duplicate_kty = format!("{}, \"kty\": \"EC\"}}", &good[..good.len() - 1]);
    let number_n = jwk_with(good, |m| {
        m.insert("n".into(), json!(12345));
    });
    for text in [duplicate_d, duplicate_kty, number_n] {
        let err = refused(&text);
        assert!(matches!(err, KeyError::NotAJwk(_)), "{err:?}");
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("appears twice"), "{shown}");
        assert!(!shown.contains("not valid JSON"), "{shown}");
        assert!(!shown.contains(&d[..12]), "{shown}");
    }
    let public = r#"{"kty":"RSA","e":"AQAB","e":"AQAB","n":"AQAB"}"#;
    assert!(matches!(
        PublicJwk::from_json(public),
        Err(KeyError::NotAJwk(_))
    ));
    // Broken JSON is still called that.
    assert!(matches!(refused("{\"kty\": "), KeyError::Json(_)));
}

/// A PEM file that bundles the key with a certificate (as web servers and `cat cert key` make
/// them) loads the key whichever block comes first; two private keys are refused by name.
#[test]
fn finds_the_private_key_in_a_pem_bundle() {
    let key = SigningKey::parse(include_str!("keys/line-docs-pyjwt.jwk.json")).unwrap();
    let pem = key.to_pkcs8_pem().unwrap();
    let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    for bundle in [format!("{cert}{}", *pem), format!("{}{cert}", *pem)] {
        let loaded = SigningKey::parse(&bundle).unwrap_or_else(|e| panic!("{e}\n{bundle}"));
        assert_eq!(loaded.public_jwk(), key.public_jwk());
    }
    let err = refused(&format!("{}{}", *pem, *pem));
    assert!(
        err.to_string().contains("more than one private key"),
        "{err}"
    );
    assert_eq!(refused(cert), KeyError::PublicOnly);
}

// ---- openssl-made keys ----

#[test]
fn loads_openssl_pkcs1_and_pkcs8_and_refuses_its_other_outputs() {
    let dir = Scratch::new("openssl-keys");
    let d = &dir.0;
    openssl(&["genrsa", "-traditional", "-out", "pkcs1.pem", "2048"], d);
    openssl(
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            "pkcs1.pem",
            "-out",
            "pkcs8.pem",
        ],
        d,
    );
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "genpkey.pem",
        ],
        d,
    );
    openssl(&["genrsa", "-out", "small.pem", "1024"], d);
    openssl(
        &["rsa", "-in", "pkcs1.pem", "-pubout", "-out", "pub.pem"],
        d,
    );
    openssl(
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "pkcs1.pem",
            "-passout",
            "pass:pw",
            "-out",
            "enc8.pem",
        ],
        d,
    );
    openssl(
        &[
            "rsa",
            "-in",
            "pkcs1.pem",
            "-traditional",
            "-aes256",
            "-passout",
            "pass:pw",
            "-out",
            "enc1.pem",
        ],
        d,
    );
    openssl(&["genpkey", "-algorithm", "ED25519", "-out", "ed.pem"], d);

    let pkcs1 = dir.read("pkcs1.pem");
    assert!(pkcs1.contains("BEGIN RSA PRIVATE KEY"));
    let a = SigningKey::parse(&pkcs1).unwrap();
    let b = SigningKey::parse(&dir.read("pkcs8.pem")).unwrap();
    assert_eq!(a.public_jwk(), b.public_jwk());
    SigningKey::parse(&dir.read("genpkey.pem")).unwrap();

    assert_eq!(refused(&dir.read("small.pem")), KeyError::WrongSize(1024));
    assert_eq!(refused(&dir.read("pub.pem")), KeyError::PublicOnly);
    assert_eq!(refused(&dir.read("enc8.pem")), KeyError::Encrypted);
    assert_eq!(refused(&dir.read("enc1.pem")), KeyError::Encrypted);
    let ed = refused(&dir.read("ed.pem"));
    assert!(ed.to_string().contains("not an RSA key"), "{ed}");
}

#[test]
fn generated_keys_are_rsa_2048_with_e_65537_and_openssl_reads_them() {
    let key = SigningKey::generate(&mut OsRng).unwrap();
    assert_eq!(key.public_jwk().e(), "AQAB");
    let dir = Scratch::new("generated");
    dir.write("key.pem", key.to_pkcs8_pem().unwrap());
    let text = String::from_utf8(openssl(
        &["rsa", "-in", "key.pem", "-noout", "-text", "-check"],
        &dir.0,
    ))
    .unwrap();
    assert!(text.contains("Private-Key: (2048 bit, 2 primes)"), "{text}");
    assert!(text.contains("RSA key ok"), "{text}");
    assert!(text.contains("publicExponent: 65537"));
}

// ---- never a panic ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics_on_arbitrary_text(text in ".{0,400}") {
        let _ = SigningKey::parse(&text);
        let _ = PublicJwk::from_json(&text);
    }

    #[test]
    fn parse_never_panics_on_mutated_jwks(
        member in prop::sample::select(vec!["n", "e", "d", "p", "q", "dp", "dq", "qi", "kty", "alg", "use", "key_ops"]),
        value in prop_oneof![
            "[A-Za-z0-9_-]{0,400}".prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            Just(Value::Null),
            Just(json!(["sign"])),
            Just(json!({})),
        ],
    ) {
        let text = jwk_with(PYJWT_DOCS_KEY, |m| { m.insert(member.into(), value); });
        let _ = SigningKey::parse(&text).map(|k| k.public_jwk().to_json());
        let _ = PublicJwk::from_console_json(&text);
    }

    #[test]
    fn pem_loader_never_panics_on_garbage_bodies(body in "[A-Za-z0-9+/=\n]{0,600}", label in prop::sample::select(vec!["PRIVATE KEY", "RSA PRIVATE KEY", "PUBLIC KEY"])) {
        let pem = format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n");
        let _ = SigningKey::parse(&pem);
    }
}

#[test]
fn loaded_keys_are_shareable_across_threads() {
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<SigningKey>();
    send_sync::<PublicJwk>();
    let key = SigningKey::parse(PYJWT_DOCS_KEY).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let key = key.clone();
            std::thread::spawn(move || key.sign_rs256(b"same input", &mut OsRng).unwrap())
        })
        .collect();
    let sigs: Vec<Vec<u8>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(
        sigs.windows(2).all(|w| w[0] == w[1]),
        "deterministic across threads"
    );
}
