//! Public keys: the JWK the LINE Developers Console wants, and verification of RS256 signatures.
//! Depends on the error type and base64url only; the signing key builds on this, not the reverse.

use std::fmt;

use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, PublicKey};
use sha2::{Digest, Sha256};

use crate::jose::base64url;
use crate::jose::error::KeyError;

/// LINE requires 2048-bit RSA assertion signing keys.
pub const REQUIRED_BITS: usize = 2048;

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
#[derive(Clone)]
pub struct PublicJwk {
    /// base64url of the modulus.
    n: String,
    /// base64url of the public exponent.
    e: String,
    /// For verification, which only the emulator does.
    #[cfg_attr(not(feature = "emulator"), allow(dead_code))]
    key: PublicKey,
}

/// Two JWKs are equal when they name the same key (`n` and `e`).
impl PartialEq for PublicJwk {
    fn eq(&self, other: &Self) -> bool {
        self.n == other.n && self.e == other.e
    }
}

impl Eq for PublicJwk {}

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
    kid: Option<serde::de::IgnoredAny>,
    n: Option<String>,
    e: Option<String>,
    d: Option<serde::de::IgnoredAny>,
}

impl PublicJwk {
    pub(crate) fn from_rsa(key: &PublicKey) -> PublicJwk {
        // The modulus and exponent are public: trimming them in variable time leaks nothing.
        PublicJwk {
            n: base64url::encode(&key.n_bytes()),
            e: base64url::encode(&key.e_bytes()),
            key: key.clone(),
        }
    }

    /// Parses a public JWK, as the Console and [`PublicJwk::to_json`] write them.
    ///
    /// Accepts a private JWK too (its private members are ignored), and a `kid`.
    ///
    /// # Errors
    ///
    /// [`KeyError`] when the JSON is not an RSA JWK with `n` and `e`, when `alg` is present
    /// and not `RS256`, or when the modulus is not 2048 bits.
    ///
    /// ```
    /// use line_channel_token::{PublicJwk, SigningKey};
    /// let key = SigningKey::parse(include_str!("../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap();
    /// let jwk = PublicJwk::from_json(&key.public_jwk().to_json()).unwrap();
    /// assert_eq!(&jwk, key.public_jwk());
    /// assert!(PublicJwk::from_json(r#"{"kty":"EC"}"#).is_err());
    /// ```
    pub fn from_json(json: &str) -> Result<PublicJwk, KeyError> {
        Self::parse(json, false)
    }

    /// Parses a public JWK as the LINE Developers Console does when you register it: it must be
    /// public only, carry no `kid`, and if it names `alg` or `use` they must be `RS256` and `sig`.
    /// (The emulator's rule: with the `emulator` feature only.)
    ///
    /// # Errors
    ///
    /// As [`PublicJwk::from_json`], and [`KeyError::HasKid`], [`KeyError::PrivateGiven`] or
    /// [`KeyError::WrongUse`] for what the Console refuses.
    ///
    /// ```
    /// use line_channel_token::{KeyError, PublicJwk, SigningKey};
    /// let key = SigningKey::parse(include_str!("../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap();
    /// assert!(PublicJwk::from_console_json(&key.public_jwk().to_json()).is_ok());
    /// // The private JWK is refused: it must never leave your machine.
    /// let private = key.to_private_jwk();
    /// assert_eq!(PublicJwk::from_console_json(&private).unwrap_err(), KeyError::PrivateGiven);
    /// ```
    #[cfg(feature = "emulator")]
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
        let n = base64url::decode_lenient(&n).ok_or(KeyError::BadBase64("n"))?;
        let e = base64url::decode_lenient(&e).ok_or(KeyError::BadBase64("e"))?;
        PublicJwk::from_be_bytes(&n, &e)
    }

    /// The public key from big-endian `n` and `e`, after LINE's size rule and `rsa`'s checks.
    pub(crate) fn from_be_bytes(n: &[u8], e: &[u8]) -> Result<PublicJwk, KeyError> {
        let (n, e) = (trim_zeros(n), trim_zeros(e));
        check_size(n)?;
        let n = BoxedUint::from_be_slice(n, REQUIRED_BITS as u32)
            .map_err(|_| KeyError::WrongSize(bit_len(n)))?;
        let e = check_exponent(e)?;
        let key = PublicKey::new(n, e).map_err(|_| KeyError::Inconsistent("e"))?;
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
    /// (The emulator's; not part of the default API.)
    #[cfg(feature = "emulator")]
    pub(crate) fn verify_rs256(&self, message: &[u8], signature: &[u8]) -> bool {
        verify_digest(&self.key, &Sha256::digest(message), signature)
    }
}

/// Checks an RS256 signature over an already computed SHA-256 digest.
#[cfg(feature = "emulator")]
pub(crate) fn verify_digest(key: &PublicKey, digest: &[u8], signature: &[u8]) -> bool {
    signature.len() == key.size()
        && key
            .verify(rsa::Pkcs1v15Sign::new::<Sha256>(), digest, signature)
            .is_ok()
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

/// `bytes` without its leading zero bytes: the minimal big-endian form JWKs use.
pub(crate) fn trim_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// The bit length of a minimal big-endian number.
pub(crate) fn bit_len(minimal: &[u8]) -> usize {
    match minimal.first() {
        Some(&top) => (minimal.len() - 1).saturating_mul(8) + (8 - top.leading_zeros() as usize),
        None => 0,
    }
}

/// LINE's size rule on a minimal big-endian modulus: exactly 2048 bits.
pub(crate) fn check_size(n: &[u8]) -> Result<(), KeyError> {
    match bit_len(n) {
        REQUIRED_BITS => Ok(()),
        bits => Err(KeyError::WrongSize(bits)),
    }
}

/// The public exponent: odd, from 3 to 2^32 - 1 (LINE keys use 65537).
pub(crate) fn check_exponent(minimal: &[u8]) -> Result<BoxedUint, KeyError> {
    if minimal.len() > 4 {
        return Err(KeyError::Inconsistent("e"));
    }
    let value = minimal
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if value < 3 || value % 2 == 0 {
        return Err(KeyError::Inconsistent("e"));
    }
    Ok(BoxedUint::from(value))
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
