//! The library's RS256 signer and keys, checked by Python's JOSE libraries: PyJWT verifies
//! our assertions, jwcrypto reads our keys and we read its keys. (The `openssl` checks are in
//! the library's tests/signer.rs.) Here because this package's build script finds out which
//! Python modules are present, so a check that cannot run is listed as ignored, with why.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use line_channel_token::*;

const CHANNEL: &str = "1234567890";
const KID: &str = "9869e446-3489-4516-a83f-ec9214ad94d0";
const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

fn docs_key() -> SigningKey {
    SigningKey::parse(PYJWT_DOCS_KEY).unwrap()
}

const PY_VERIFY: &str = r#"
import json, sys, jwt
from jwt.algorithms import RSAAlgorithm
token = open(sys.argv[1]).read().strip()
public = RSAAlgorithm.from_jwk(open(sys.argv[2]).read())
claims = jwt.decode(token, public, algorithms=["RS256"], audience="https://api.line.me/",
                    options={"verify_exp": False})
header = jwt.get_unverified_header(token)
print(json.dumps({"header": header, "claims": claims}, sort_keys=True))
"#;

#[test]
#[cfg_attr(
    no_pyjwt,
    ignore = "needs Python with PyJWT: python3 -m pip install pyjwt cryptography"
)]
fn pyjwt_verifies_our_assertions() {
    let python = python_with(&["jwt", "cryptography"]);
    let dir = Scratch::new("pyjwt");
    for key in [
        docs_key(),
        SigningKey::parse(NODE_JOSE_DOCS_KEY).unwrap(),
        SigningKey::generate(&mut OsRng).unwrap(),
    ] {
        let jwt = AssertionBuilder::new(CHANNEL, KID)
            .token_exp(Duration::from_secs(86_400))
            .sign(&key, NOW, &mut OsRng)
            .unwrap();
        dir.write("token", jwt.expose_secret());
        dir.write("pub.json", key.public_jwk().to_json());
        dir.write("verify.py", PY_VERIFY);
        let out = run(Command::new(python)
            .args(["verify.py", "token", "pub.json"])
            .current_dir(&dir.0));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["header"],
            serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": KID})
        );
        assert_eq!(v["claims"]["token_exp"], 86_400);
        assert_eq!(v["claims"]["iss"], CHANNEL);

        // And PyJWT refuses it under another key.
        let other = SigningKey::parse(if key.public_jwk() == docs_key().public_jwk() {
            NODE_JOSE_DOCS_KEY
        } else {
            PYJWT_DOCS_KEY
        })
        .unwrap();
        dir.write("other.json", other.public_jwk().to_json());
        let status = Command::new(python)
            .args(["verify.py", "token", "other.json"])
            .current_dir(&dir.0)
            .output()
            .unwrap()
            .status;
        assert!(!status.success());
    }
}

const PY_JWCRYPTO: &str = r#"
import json, sys
from jwcrypto import jwk, jws
# 1. jwcrypto reads our private and public JWK and agrees they are one pair.
ours = jwk.JWK.from_json(open("ours-private.json").read())
pub = jwk.JWK.from_json(open("ours-public.json").read())
assert ours.has_private and not pub.has_private
assert ours.thumbprint() == pub.thumbprint(), "thumbprints differ"
print(pub.thumbprint())
# 2. jwcrypto verifies our token.
token = jws.JWS()
token.deserialize(open("token").read().strip())
token.verify(pub, alg="RS256")
# 3. A key jwcrypto generates, exported as LINE's guide does, for us to load.
k = jwk.JWK.generate(kty="RSA", size=2048, alg="RS256", use="sig", kid="x")
open("theirs-private.json", "w").write(k.export_private())
open("theirs-public.json", "w").write(k.export_public())
"#;

const PY_JWCRYPTO_VERIFY: &str = r#"
from jwcrypto import jwk, jws
pub = jwk.JWK.from_json(open("theirs-public.json").read())
token = jws.JWS()
token.deserialize(open("token2").read().strip())
token.verify(pub, alg="RS256")
print("ok")
"#;

#[test]
#[cfg_attr(
    no_jwcrypto,
    ignore = "needs Python with jwcrypto: python3 -m pip install jwcrypto"
)]
fn jwcrypto_reads_our_keys_and_we_read_its_keys() {
    let python = python_with(&["jwcrypto"]);
    let dir = Scratch::new("jwcrypto");
    let key = SigningKey::generate(&mut OsRng).unwrap();
    dir.write("ours-private.json", key.to_private_jwk());
    dir.write("ours-public.json", key.public_jwk().to_json());
    let jwt = AssertionBuilder::new(CHANNEL, KID)
        .sign(&key, NOW, &mut OsRng)
        .unwrap();
    dir.write("token", jwt.expose_secret());
    dir.write("a.py", PY_JWCRYPTO);
    let out = run(Command::new(python).arg("a.py").current_dir(&dir.0));
    assert_eq!(
        String::from_utf8_lossy(&out).trim(),
        key.public_jwk().thumbprint()
    );

    let theirs = SigningKey::parse(&dir.read("theirs-private.json")).unwrap();
    let their_public = PublicJwk::from_json(&dir.read("theirs-public.json")).unwrap();
    assert_eq!(theirs.public_jwk(), &their_public);
    let jwt = AssertionBuilder::new(CHANNEL, KID)
        .sign(&theirs, NOW, &mut OsRng)
        .unwrap();
    dir.write("token2", jwt.expose_secret());
    dir.write("b.py", PY_JWCRYPTO_VERIFY);
    let out = run(Command::new(python).arg("b.py").current_dir(&dir.0));
    assert_eq!(String::from_utf8_lossy(&out).trim(), "ok");
}
