//! The assertion signing key: loading (JWK, PKCS#1 PEM, PKCS#8 PEM), generation, export and
//! RS256 signing.

use std::fmt;
use std::sync::Arc;

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::rand_core::CryptoRngCore;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, RsaPrivateKey};
use sha2::{Digest, Sha256};

use crate::jose::base64url;
use crate::jose::jwk::{check_kty_and_alg, check_size, PublicJwk};

/// LINE requires 2048-bit RSA assertion signing keys.
pub const REQUIRED_BITS: usize = 2048;

/// An RSA-2048 private key, parsed and checked once, ready to sign RS256.
///
/// Cloning is cheap (the key is shared), and it is `Send + Sync`: load it at start-up and hand
/// clones to every thread or task. `Debug` shows only the public key's thumbprint.
///
/// ```
/// use line_channel_token::SigningKey;
/// let key = SigningKey::parse(include_str!("../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap();
/// assert_eq!(key.public_jwk().e(), "AQAB");
/// assert!(format!("{key:?}").starts_with("SigningKey { thumbprint:"));
/// ```
#[derive(Clone)]
pub struct SigningKey {
    inner: Arc<Inner>,
}

struct Inner {
    key: RsaPrivateKey,
    public: PublicJwk,
}

/// Why a key was refused. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// Neither a JWK (`{...}`) nor a PEM block.
    UnrecognizedFormat,
    /// The JWK is not valid JSON (position given, content not echoed).
    Json(String),
    /// `kty` is not `RSA`.
    NotRsa(String),
    /// `alg` is present and not `RS256`.
    WrongAlgorithm(String),
    /// `use` is not `sig`, or `key_ops` does not allow signing.
    WrongUse,
    /// A public key was given where the private key is needed.
    PublicOnly,
    /// A private key was given where only the public key may go (the Console).
    PrivateGiven,
    /// The public JWK has a `kid`, which the Console refuses.
    HasKid,
    /// A required JWK member is missing.
    MissingParameter(&'static str),
    /// A JWK member is not base64url.
    BadBase64(&'static str),
    /// The modulus is not 2048 bits.
    WrongSize(usize),
    /// The key's numbers do not fit together (the named member is wrong).
    Inconsistent(&'static str),
    /// More than two primes (`oth`): not supported.
    MultiPrime,
    /// The PEM is encrypted with a passphrase.
    Encrypted,
    /// The PEM block is malformed or is not an RSA key.
    Pem(String),
    /// Key generation or export failed.
    Crypto(String),
}

impl KeyError {
    pub(crate) fn json(e: serde_json::Error) -> KeyError {
        KeyError::Json(format!("line {} column {}", e.line(), e.column()))
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::UnrecognizedFormat => f.write_str(
                "unrecognised key format: give a private JWK ({\"kty\":\"RSA\",...}), a PKCS#8 PEM (BEGIN PRIVATE KEY) or a PKCS#1 PEM (BEGIN RSA PRIVATE KEY)",
            ),
            KeyError::Json(at) => write!(f, "the JWK is not valid JSON (at {at})"),
            KeyError::NotRsa(kty) => write!(
                f,
                "the key is of type {kty:?}, but LINE assertion signing keys are RSA (kty \"RSA\"); generate one with `line-token keygen`"
            ),
            KeyError::WrongAlgorithm(alg) => write!(
                f,
                "the JWK's alg is {alg:?}, but LINE requires RS256; remove alg or set it to \"RS256\""
            ),
            KeyError::WrongUse => f.write_str(
                "the JWK is not for signatures: set use to \"sig\" (or key_ops to [\"sign\"] on a private key, [\"verify\"] on a public one)",
            ),
            KeyError::PublicOnly => f.write_str(
                "this is a public key; signing needs the private key (the JWK with d, p, q, or the PEM with BEGIN PRIVATE KEY)",
            ),
            KeyError::PrivateGiven => f.write_str(
                "this is a private key; register only the public key (line-token public-jwk --key FILE prints it)",
            ),
            KeyError::HasKid => f.write_str(
                "the public JWK has a kid; remove it: the LINE Developers Console assigns the kid when you register the key",
            ),
            KeyError::MissingParameter(p) => write!(f, "the JWK lacks the required member {p:?}"),
            KeyError::BadBase64(p) => write!(f, "the JWK member {p:?} is not base64url"),
            KeyError::WrongSize(bits) => write!(
                f,
                "the RSA key has {bits} bits, but LINE requires 2048; generate one with `line-token keygen` or `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`"
            ),
            KeyError::Inconsistent(p) => write!(
                f,
                "the key's numbers are inconsistent ({p} does not match the rest): the key is corrupt or was edited"
            ),
            KeyError::MultiPrime => f.write_str("multi-prime RSA keys (oth) are not supported; use a two-prime RSA-2048 key"),
            KeyError::Encrypted => f.write_str(
                "the PEM key is encrypted; decrypt it first: `openssl pkey -in key.pem -out key-plain.pem` (keep the result private, mode 0600)",
            ),
            KeyError::Pem(why) => write!(f, "the PEM key could not be read: {why}"),
            KeyError::Crypto(why) => write!(f, "RSA operation failed: {why}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// The members of a private JWK we read. Everything else (`ext`, `kid`, ...) is ignored.
#[derive(serde::Deserialize)]
struct RawPrivateJwk {
    kty: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    n: Option<String>,
    e: Option<String>,
    d: Option<String>,
    p: Option<String>,
    q: Option<String>,
    dp: Option<String>,
    dq: Option<String>,
    qi: Option<String>,
    oth: Option<serde_json::Value>,
}

fn big(value: Option<&str>, name: &'static str) -> Result<BigUint, KeyError> {
    let s = value.ok_or(KeyError::MissingParameter(name))?;
    let bytes = base64url::decode_lenient(s).ok_or(KeyError::BadBase64(name))?;
    Ok(BigUint::from_bytes_be(&bytes))
}

impl SigningKey {
    /// Loads a private key, detecting its format: a private JWK (as jwx, jwcrypto, node-jose and
    /// browsers' WebCrypto export them), a PKCS#8 PEM (`openssl genpkey`) or a PKCS#1 PEM
    /// (`openssl genrsa -traditional`).
    pub fn parse(text: &str) -> Result<SigningKey, KeyError> {
        let trimmed = text.trim_start_matches('\u{feff}').trim();
        if trimmed.starts_with('{') {
            SigningKey::from_jwk(trimmed)
        } else if trimmed.contains("-----BEGIN") {
            SigningKey::from_pem(trimmed)
        } else {
            Err(KeyError::UnrecognizedFormat)
        }
    }

    /// Loads a private JWK. `alg`, `use`, `key_ops`, `ext` and `kid` may be present or absent;
    /// if present they must allow RS256 signing. `dp`, `dq`, `qi` are checked if given.
    pub fn from_jwk(json: &str) -> Result<SigningKey, KeyError> {
        let raw: RawPrivateJwk = serde_json::from_str(json).map_err(KeyError::json)?;
        check_kty_and_alg(raw.kty.as_deref(), raw.alg.as_deref())?;
        if raw.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(KeyError::WrongUse);
        }
        if raw
            .key_ops
            .as_ref()
            .is_some_and(|ops| !ops.iter().any(|o| o == "sign"))
        {
            return Err(KeyError::WrongUse);
        }
        if raw.d.is_none() {
            return Err(KeyError::PublicOnly);
        }
        if raw.oth.is_some() {
            return Err(KeyError::MultiPrime);
        }
        let n = big(raw.n.as_deref(), "n")?;
        check_size(&n)?;
        let e = big(raw.e.as_deref(), "e")?;
        let d = big(raw.d.as_deref(), "d")?;
        let primes = match (raw.p.as_deref(), raw.q.as_deref()) {
            (Some(_), Some(_)) => vec![big(raw.p.as_deref(), "p")?, big(raw.q.as_deref(), "q")?],
            (None, None) => Vec::new(),
            (Some(_), None) => return Err(KeyError::MissingParameter("q")),
            (None, Some(_)) => return Err(KeyError::MissingParameter("p")),
        };
        if e > BigUint::from(u32::MAX) || e < BigUint::from(3u8) {
            return Err(KeyError::Inconsistent("e"));
        }
        // `rsa` computes d*e - 1 when recovering primes: a zero d would underflow.
        if d < BigUint::from(2u8) || d >= n {
            return Err(KeyError::Inconsistent("d"));
        }
        let key = RsaPrivateKey::from_components(n, e, d, primes).map_err(|err| {
            KeyError::Inconsistent(match err {
                rsa::Error::InvalidModulus => "n",
                rsa::Error::InvalidExponent => "d",
                rsa::Error::PublicExponentTooSmall | rsa::Error::PublicExponentTooLarge => "e",
                _ => "p, q",
            })
        })?;
        for (name, given, actual) in [
            ("dp", raw.dp.as_deref(), key.dp().cloned()),
            ("dq", raw.dq.as_deref(), key.dq().cloned()),
            ("qi", raw.qi.as_deref(), key.crt_coefficient()),
        ] {
            if given.is_some() && Some(big(given, name)?) != actual {
                return Err(KeyError::Inconsistent(name));
            }
        }
        SigningKey::from_rsa(key)
    }

    /// Loads a PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM.
    pub fn from_pem(pem: &str) -> Result<SigningKey, KeyError> {
        let pem = pem.trim();
        let label = pem
            .lines()
            .find_map(|l| l.trim().strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
            .unwrap_or("");
        let key = match label {
            "PRIVATE KEY" => RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| {
                KeyError::Pem(match e {
                    rsa::pkcs8::Error::PublicKey(_) => {
                        "the PKCS#8 key is not an RSA key".to_owned()
                    }
                    other => other.to_string(),
                })
            })?,
            "RSA PRIVATE KEY" if pem.contains("ENCRYPTED") => return Err(KeyError::Encrypted),
            "RSA PRIVATE KEY" => {
                RsaPrivateKey::from_pkcs1_pem(pem).map_err(|e| KeyError::Pem(e.to_string()))?
            }
            "ENCRYPTED PRIVATE KEY" => return Err(KeyError::Encrypted),
            "PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE" => return Err(KeyError::PublicOnly),
            "EC PRIVATE KEY" => return Err(KeyError::NotRsa("EC".to_owned())),
            "OPENSSH PRIVATE KEY" => {
                return Err(KeyError::Pem(
                    "OpenSSH keys are not supported; convert with `ssh-keygen -p -m PKCS8 -f KEY`"
                        .to_owned(),
                ))
            }
            _ => return Err(KeyError::UnrecognizedFormat),
        };
        if key.primes().len() != 2 {
            return Err(KeyError::MultiPrime);
        }
        check_size(key.n())?;
        SigningKey::from_rsa(key)
    }

    /// Generates a new RSA-2048 key with e = 65537, as LINE requires.
    ///
    /// ```
    /// # #[cfg(feature = "os-rng")] {
    /// use line_channel_token::{OsRng, SigningKey};
    /// let key = SigningKey::generate(&mut OsRng).unwrap();
    /// let console_jwk = key.public_jwk().to_json(); // register this in the LINE Developers Console
    /// assert!(!console_jwk.contains("kid"));
    /// # }
    /// ```
    pub fn generate(rng: &mut impl CryptoRngCore) -> Result<SigningKey, KeyError> {
        let key =
            RsaPrivateKey::new(rng, REQUIRED_BITS).map_err(|e| KeyError::Crypto(e.to_string()))?;
        SigningKey::from_rsa(key)
    }

    fn from_rsa(mut key: RsaPrivateKey) -> Result<SigningKey, KeyError> {
        // CRT values once, here, rather than on every signature.
        key.precompute()
            .map_err(|_| KeyError::Inconsistent("p, q"))?;
        let public = PublicJwk::from_rsa(&key.to_public_key());
        Ok(SigningKey {
            inner: Arc::new(Inner { key, public }),
        })
    }

    /// The public half, as the JWK to register in the LINE Developers Console.
    pub fn public_jwk(&self) -> &PublicJwk {
        &self.inner.public
    }

    /// The private key as a JWK (`kty`, `alg`, `use`, `n`, `e`, `d`, `p`, `q`, `dp`, `dq`,
    /// `qi`; no `kid`). This is secret: write it only to a file with mode 0600.
    pub fn to_private_jwk(&self) -> String {
        let k = &self.inner.key;
        let b = |x: &BigUint| base64url::encode(&x.to_bytes_be());
        let primes = k.primes();
        let zero = BigUint::default();
        let (p, q) = (
            primes.first().unwrap_or(&zero),
            primes.get(1).unwrap_or(&zero),
        );
        let json = serde_json::json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "n": b(k.n()),
            "e": b(k.e()),
            "d": b(k.d()),
            "p": b(p),
            "q": b(q),
            "dp": k.dp().map(b),
            "dq": k.dq().map(b),
            "qi": k.crt_coefficient().as_ref().map(b),
        });
        serde_json::to_string_pretty(&json).unwrap_or_default()
    }

    /// The private key as a PKCS#8 PEM (`BEGIN PRIVATE KEY`), as `openssl genpkey` writes it.
    /// This is secret: write it only to a file with mode 0600.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        self.inner
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| KeyError::Crypto(e.to_string()))
    }

    /// Signs `message` with RS256 (RSASSA-PKCS1-v1_5, SHA-256). The private-key operation is
    /// blinded with randomness from `rng`; the signature itself is deterministic, byte for byte
    /// what `openssl dgst -sha256 -sign` produces.
    pub fn sign_rs256(
        &self,
        message: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<u8>, KeyError> {
        let digest = Sha256::digest(message);
        self.inner
            .key
            .sign_with_rng(rng, Pkcs1v15Sign::new::<Sha256>(), &digest)
            .map_err(|e| KeyError::Crypto(e.to_string()))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("thumbprint", &self.inner.public.thumbprint())
            .finish_non_exhaustive()
    }
}
