//! Public keys: the JWK the LINE Developers Console wants, and verification of RS256 signatures.

use std::fmt;

use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};
use sha2::{Digest, Sha256};

use crate::jose::base64url;
use crate::jose::key::{KeyError, REQUIRED_BITS};

/// An RSA public key as a JWK: what you paste into the LINE Developers Console under
/// **Basic settings → Assertion Signing Key → Register a public key**.
///
/// Its JSON is exactly `{"kty":"RSA","alg":"RS256","use":"sig","e":…,"n":…}` with no `kid`
/// (the Console assigns the `kid` and rejects a key that already has one).
///
/// ```
/// use line_channel_token::PublicJwk;
/// let jwk = PublicJwk::from_json(r#"{"kty":"RSA","e":"AQAB","n":"kgwP0NPaoAwhSh9iLlRaT7FSRbNsl6T5-j-bB3xAT1UbsxOJ9v06S3_54bpYlEAkjlrO-i1vmSzfSVnqFXnjWThWRvPmBDth3Ka7hQm9UXjiAvTzYxXGFjyhALqa_-DQCtdrqIhi8E4hAuSu--kGgnFKg3G-21KJuqnVzsXrClGkxbmVufx0MJjJxr1YGfkTMG8i0dovS9tnkioDAkt1knupiYk5ir_WiNy4T-70T5s3ktC5_4Uz10hS-rWeUxiihzG8G7ceg84-Kt5jKP_AgUnel-ksRyfgSJCYC9nHyz913a3ALj3Dzt7TBaxwAjlxESrdNz5RE9DNDZfPmNWRSw"}"#).unwrap();
/// assert!(jwk.to_json().starts_with(r#"{"kty":"RSA","alg":"RS256","use":"sig","e":"AQAB","n":"kgwP"#));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PublicJwk {
    /// base64url of the modulus.
    n: String,
    /// base64url of the public exponent.
    e: String,
    key: RsaPublicKey,
}

#[derive(serde::Serialize)]
struct ConsoleJwk<'a> {
    kty: &'static str,
    alg: &'static str,
    #[serde(rename = "use")]
    use_: &'static str,
    e: &'a str,
    n: &'a str,
}

#[derive(serde::Deserialize)]
struct RawPublicJwk {
    kty: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    kid: Option<serde_json::Value>,
    n: Option<String>,
    e: Option<String>,
    d: Option<serde_json::Value>,
}

impl PublicJwk {
    pub(crate) fn from_rsa(key: &RsaPublicKey) -> PublicJwk {
        PublicJwk {
            n: base64url::encode(&key.n().to_bytes_be()),
            e: base64url::encode(&key.e().to_bytes_be()),
            key: key.clone(),
        }
    }

    /// Parses a public JWK, as the Console and [`PublicJwk::to_json`] write them.
    ///
    /// Accepts a private JWK too (its private members are ignored), and a `kid`; use
    /// [`PublicJwk::from_console_json`] to apply the Console's stricter rules.
    pub fn from_json(json: &str) -> Result<PublicJwk, KeyError> {
        Self::parse(json, false)
    }

    /// Parses a public JWK as the LINE Developers Console does when you register it: it must be
    /// public only, carry no `kid`, and if it names `alg` or `use` they must be `RS256` and `sig`.
    pub fn from_console_json(json: &str) -> Result<PublicJwk, KeyError> {
        Self::parse(json, true)
    }

    fn parse(json: &str, console: bool) -> Result<PublicJwk, KeyError> {
        let raw: RawPublicJwk = serde_json::from_str(json).map_err(KeyError::json)?;
        check_kty_and_alg(raw.kty.as_deref(), raw.alg.as_deref())?;
        if console {
            if raw.kid.is_some() {
                return Err(KeyError::HasKid);
            }
            if raw.d.is_some() {
                return Err(KeyError::PrivateGiven);
            }
            if raw.use_.as_deref().is_some_and(|u| u != "sig") {
                return Err(KeyError::WrongUse);
            }
        }
        let n = raw.n.ok_or(KeyError::MissingParameter("n"))?;
        let e = raw.e.ok_or(KeyError::MissingParameter("e"))?;
        let n_int =
            BigUint::from_bytes_be(&base64url::decode_lenient(&n).ok_or(KeyError::BadBase64("n"))?);
        let e_int =
            BigUint::from_bytes_be(&base64url::decode_lenient(&e).ok_or(KeyError::BadBase64("e"))?);
        check_size(&n_int)?;
        let key = RsaPublicKey::new(n_int, e_int).map_err(|_| KeyError::Inconsistent("e"))?;
        Ok(PublicJwk::from_rsa(&key))
    }

    /// The JWK as the Console wants it (compact JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.console()).unwrap_or_default()
    }

    /// The JWK, indented for humans.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.console()).unwrap_or_default()
    }

    fn console(&self) -> ConsoleJwk<'_> {
        ConsoleJwk {
            kty: "RSA",
            alg: "RS256",
            use_: "sig",
            e: &self.e,
            n: &self.n,
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): a stable, public name for the key.
    pub fn thumbprint(&self) -> String {
        // Members in lexicographic order, no whitespace, as RFC 7638 §3 requires.
        let canonical = format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, self.e, self.n);
        base64url::encode(&Sha256::digest(canonical.as_bytes()))
    }

    /// `n`, base64url.
    pub fn n(&self) -> &str {
        &self.n
    }

    /// `e`, base64url.
    pub fn e(&self) -> &str {
        &self.e
    }

    /// Checks an RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature over `message`.
    pub fn verify_rs256(&self, message: &[u8], signature: &[u8]) -> bool {
        if signature.len() != self.key.size() {
            return false;
        }
        let digest = Sha256::digest(message);
        self.key
            .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, signature)
            .is_ok()
    }
}

/// LINE's rules for any JWK: `kty` must be `RSA`; `alg`, if present, `RS256`.
pub(crate) fn check_kty_and_alg(kty: Option<&str>, alg: Option<&str>) -> Result<(), KeyError> {
    match kty {
        Some("RSA") => {}
        Some(other) => return Err(KeyError::NotRsa(other.chars().take(20).collect())),
        None => return Err(KeyError::MissingParameter("kty")),
    }
    match alg {
        Some(alg) if alg != "RS256" => {
            Err(KeyError::WrongAlgorithm(alg.chars().take(20).collect()))
        }
        _ => Ok(()),
    }
}

pub(crate) fn check_size(n: &BigUint) -> Result<(), KeyError> {
    match n.bits() {
        REQUIRED_BITS => Ok(()),
        bits => Err(KeyError::WrongSize(bits)),
    }
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk")
            .field("thumbprint", &self.thumbprint())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for PublicJwk {
    /// The Console JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}
