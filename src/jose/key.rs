//! The assertion signing key: loading (JWK, PKCS#1 PEM, PKCS#8 PEM), generation, export and
//! RS256 signing. Every loader decodes to [`Parts`] and proves the key sound there.

use std::fmt;
use std::sync::Arc;

use rsa::pkcs1::{RsaPrivateKeyRef, UintRef};
use rsa::pkcs8::der::{Decode, SecretDocument};
use rsa::pkcs8::{EncodePrivateKey, LineEnding, PrivateKeyInfoRef};
use rsa::rand_core::TryCryptoRng;
use rsa::{Pkcs1v15Sign, PrivateKey};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::jose::base64url;
use crate::jose::error::KeyError;
use crate::jose::jwk::{check_kty_and_alg, PublicJwk, REQUIRED_BITS};
use crate::jose::private_parts::{Exported, Parts, SecretBytes};
use crate::jose::rng;

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

/// `rsa` wipes the key's numbers when `Inner` is dropped (its `PrivateKey` zeroizes on drop).
struct Inner {
    key: PrivateKey,
    public: PublicJwk,
}

/// The members of a private JWK we read. Everything else (`ext`, `kid`, ...) is ignored.
/// The base64url text of the private members is wiped on drop.
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
    // Presence is all that matters: `IgnoredAny` skips it without building a JSON tree.
    oth: Option<serde::de::IgnoredAny>,
}

impl Drop for RawPrivateJwk {
    fn drop(&mut self) {
        for member in [
            &mut self.d,
            &mut self.p,
            &mut self.q,
            &mut self.dp,
            &mut self.dq,
            &mut self.qi,
        ] {
            member.zeroize();
        }
    }
}

/// A required member, decoded.
fn member(value: Option<&str>, name: &'static str) -> Result<SecretBytes, KeyError> {
    optional(value, name)?.ok_or(KeyError::MissingParameter(name))
}

/// An optional member, decoded; the bytes are wiped on drop.
fn optional(value: Option<&str>, name: &'static str) -> Result<Option<SecretBytes>, KeyError> {
    value
        .map(|s| {
            base64url::decode_lenient(s)
                .map(Zeroizing::new)
                .ok_or(KeyError::BadBase64(name))
        })
        .transpose()
}

/// PEM labels of private keys (read or refused by name in [`SigningKey::from_pem`]).
const PRIVATE_LABELS: [&str; 5] = [
    "PRIVATE KEY",
    "RSA PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "EC PRIVATE KEY",
    "OPENSSH PRIVATE KEY",
];

/// The label and text (`BEGIN` to `END` line) of the file's one private-key block, or of its
/// first block when it has none: a file may bundle the key with certificates, in any order.
fn private_block(text: &str) -> Result<(&str, &str), KeyError> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let label = block["-----BEGIN ".len()..]
            .split("-----")
            .next()
            .unwrap_or("");
        let end = block
            .find("-----END ")
            .and_then(|i| block[i..].find('\n').map(|j| i + j + 1))
            .unwrap_or(block.len());
        blocks.push((label, block[..end].trim()));
        // `end` > 0 (the block starts with its BEGIN line), so the loop always moves on.
        rest = &block[end..];
    }
    let mut private = blocks
        .iter()
        .filter(|(label, _)| PRIVATE_LABELS.contains(label));
    match (private.next(), private.next()) {
        (Some(_), Some(_)) => Err(KeyError::Pem(
            "the file holds more than one private key; keep only the assertion signing key"
                .to_owned(),
        )),
        (Some(&block), None) => Ok(block),
        (None, _) => Ok(blocks.first().copied().unwrap_or(("", text))),
    }
}

/// The numbers of a PKCS#1 `RSAPrivateKey`, copied into buffers wiped on drop.
fn pkcs1_parts(key: &RsaPrivateKeyRef<'_>) -> Result<Parts, KeyError> {
    if key.other_prime_infos.is_some() {
        return Err(KeyError::MultiPrime);
    }
    let bytes = |u: &UintRef<'_>| Zeroizing::new(u.as_bytes().to_vec());
    Ok(Parts {
        n: key.modulus.as_bytes().to_vec(),
        e: key.public_exponent.as_bytes().to_vec(),
        d: bytes(&key.private_exponent),
        primes: Some((bytes(&key.prime1), bytes(&key.prime2))),
        dp: Some(bytes(&key.exponent1)),
        dq: Some(bytes(&key.exponent2)),
        qi: Some(bytes(&key.coefficient)),
    })
}

impl SigningKey {
    /// Loads a private key, detecting its format: a private JWK (as jwx, jwcrypto, node-jose and
    /// browsers' WebCrypto export them), a PKCS#8 PEM (`openssl genpkey`) or a PKCS#1 PEM
    /// (`openssl genrsa -traditional`).
    ///
    /// The key is proved sound before it is returned (see the README's Security section): its
    /// numbers must fit together and `p` and `q` must be probable primes.
    ///
    /// # Errors
    ///
    /// [`KeyError`], naming what is wrong: the format, a JWK member, the size (LINE requires
    /// RSA-2048), an inconsistent number ([`KeyError::Inconsistent`]), a composite prime
    /// ([`KeyError::NotPrime`]), or an encrypted PEM.
    ///
    /// ```
    /// use line_channel_token::{KeyError, SigningKey};
    /// let key = SigningKey::parse(include_str!("../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap();
    /// assert_eq!(key.public_jwk().e(), "AQAB");
    /// assert_eq!(SigningKey::parse("hunter2").unwrap_err(), KeyError::UnrecognizedFormat);
    /// ```
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
    ///
    /// # Errors
    ///
    /// As [`SigningKey::parse`].
    ///
    /// ```
    /// use line_channel_token::{KeyError, SigningKey};
    /// let key = SigningKey::from_jwk(include_str!("../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap();
    /// // The Console's public JWK is not enough to sign with.
    /// let public = key.public_jwk().to_json();
    /// assert_eq!(SigningKey::from_jwk(&public).unwrap_err(), KeyError::PublicOnly);
    /// ```
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
        let primes = match (raw.p.as_deref(), raw.q.as_deref()) {
            (Some(p), Some(q)) => Some((member(Some(p), "p")?, member(Some(q), "q")?)),
            (None, None) => None,
            (Some(_), None) => return Err(KeyError::MissingParameter("q")),
            (None, Some(_)) => return Err(KeyError::MissingParameter("p")),
        };
        let parts = Parts {
            n: member(raw.n.as_deref(), "n")?.to_vec(),
            e: member(raw.e.as_deref(), "e")?.to_vec(),
            d: member(raw.d.as_deref(), "d")?,
            primes,
            dp: optional(raw.dp.as_deref(), "dp")?,
            dq: optional(raw.dq.as_deref(), "dq")?,
            qi: optional(raw.qi.as_deref(), "qi")?,
        };
        SigningKey::from_rsa(parts.into_key()?)
    }

    /// Loads a PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM. The CRT
    /// values in the file (`exponent1`, `exponent2`, `coefficient`) are checked, not ignored.
    /// The file may also hold certificates (a bundle): its one private key is read.
    ///
    /// # Errors
    ///
    /// As [`SigningKey::parse`]; [`KeyError::Encrypted`] for a passphrase-protected PEM.
    ///
    /// ```
    /// use line_channel_token::SigningKey;
    /// let key = SigningKey::parse(include_str!("../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap();
    /// let pem = key.to_pkcs8_pem().unwrap(); // as `openssl genpkey` writes it
    /// let again = SigningKey::from_pem(&pem).unwrap();
    /// assert_eq!(again.public_jwk(), key.public_jwk());
    /// ```
    pub fn from_pem(pem: &str) -> Result<SigningKey, KeyError> {
        let (label, pem) = private_block(pem.trim())?;
        match label {
            "PRIVATE KEY" | "RSA PRIVATE KEY" => {}
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
        }
        if label == "RSA PRIVATE KEY" && pem.contains("ENCRYPTED") {
            return Err(KeyError::Encrypted);
        }
        // `SecretDocument` wipes the decoded DER on drop.
        let (_, der) = SecretDocument::from_pem(pem).map_err(|e| KeyError::Pem(e.to_string()))?;
        let parts = if label == "PRIVATE KEY" {
            let info = PrivateKeyInfoRef::from_der(der.as_bytes())
                .map_err(|e| KeyError::Pem(e.to_string()))?;
            if info.algorithm.oid != rsa::pkcs1::ALGORITHM_OID {
                return Err(KeyError::Pem("the PKCS#8 key is not an RSA key".to_owned()));
            }
            let key = RsaPrivateKeyRef::try_from(info.private_key)
                .map_err(|e| KeyError::Pem(e.to_string()))?;
            pkcs1_parts(&key)?
        } else {
            let key = RsaPrivateKeyRef::from_der(der.as_bytes())
                .map_err(|e| KeyError::Pem(e.to_string()))?;
            pkcs1_parts(&key)?
        };
        SigningKey::from_rsa(parts.into_key()?)
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
    ///
    /// # Errors
    ///
    /// [`KeyError::Rng`] if `rng` fails.
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<SigningKey, KeyError> {
        let key =
            rng::with_rng(rng, |rng| PrivateKey::new(rng, REQUIRED_BITS)).map_err(|e| match e {
                rsa::Error::Rng => KeyError::Rng,
                // A fixed text: `rsa::Error`'s `Display` drags every PKCS#1/PKCS#8/DER
                // message into the binary (a WASM module's size), and generating a key has
                // no other way to fail.
                _ => KeyError::Crypto("the RSA private-key operation failed".to_owned()),
            })?;
        SigningKey::from_rsa(key)
    }

    /// `key` has passed [`Parts::into_key`] or comes from `rsa`'s generator; its CRT values are
    /// computed (by `rsa`, at construction).
    fn from_rsa(key: PrivateKey) -> Result<SigningKey, KeyError> {
        let public = PublicJwk::from_rsa(key.as_public_key());
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
    ///
    /// The returned text is wiped when dropped; copies you make of it are yours to protect.
    pub fn to_private_jwk(&self) -> Zeroizing<String> {
        #[derive(serde::Serialize)]
        struct PrivateJwk<'a> {
            kty: &'static str,
            alg: &'static str,
            #[serde(rename = "use")]
            use_: &'static str,
            n: &'a str,
            e: &'a str,
            d: &'a str,
            p: &'a str,
            q: &'a str,
            dp: &'a str,
            dq: &'a str,
            qi: &'a str,
        }
        let Some(parts) = Exported::of(&self.inner.key) else {
            return Zeroizing::new(String::new());
        };
        let b = |bytes: &SecretBytes| Zeroizing::new(base64url::encode(bytes));
        let (d, p, q) = (b(&parts.d), b(&parts.p), b(&parts.q));
        let (dp, dq, qi) = (b(&parts.dp), b(&parts.dq), b(&parts.qi));
        let public = &self.inner.public;
        let jwk = PrivateJwk {
            kty: "RSA",
            alg: "RS256",
            use_: "sig",
            n: public.n(),
            e: public.e(),
            d: &d,
            p: &p,
            q: &q,
            dp: &dp,
            dq: &dq,
            qi: &qi,
        };
        // Serialised straight into the returned buffer: no unwiped intermediate copy.
        Zeroizing::new(serde_json::to_string_pretty(&jwk).unwrap_or_default())
    }

    /// The private key as a PKCS#8 PEM (`BEGIN PRIVATE KEY`), as `openssl genpkey` writes it.
    /// This is secret: write it only to a file with mode 0600. The text is wiped when dropped.
    ///
    /// # Errors
    ///
    /// [`KeyError::Crypto`] if the DER encoder fails, which a key loaded by this crate never
    /// makes it do.
    ///
    /// ```
    /// use line_channel_token::SigningKey;
    /// let key = SigningKey::parse(include_str!("../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap();
    /// let pem = key.to_pkcs8_pem().unwrap();
    /// assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    /// ```
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        self.inner
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyError::Crypto(e.to_string()))
    }

    /// Signs `message` with RS256 (RSASSA-PKCS1-v1_5, SHA-256). The private-key operation is
    /// blinded with randomness from `rng`; the signature itself is deterministic, byte for byte
    /// what `openssl dgst -sha256 -sign` produces.
    ///
    /// # Errors
    ///
    /// [`KeyError::Rng`] if `rng` fails. A loaded key's numbers were proved sound (prime `p`
    /// and `q`, consistent `d` and CRT values), so nothing else is expected; any other failure
    /// is [`KeyError::Crypto`].
    ///
    /// ```
    /// # #[cfg(feature = "os-rng")] {
    /// use line_channel_token::{OsRng, SigningKey};
    /// let key = SigningKey::parse(include_str!("../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap();
    /// let signature = key.sign_rs256(b"header.claims", &mut OsRng).unwrap();
    /// assert_eq!(signature.len(), 256); // RSA-2048
    /// // Deterministic: blinding changes the arithmetic, not the result.
    /// assert_eq!(key.sign_rs256(b"header.claims", &mut OsRng).unwrap(), signature);
    /// # }
    /// ```
    pub fn sign_rs256<R: TryCryptoRng + ?Sized>(
        &self,
        message: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>, KeyError> {
        let digest = Sha256::digest(message);
        rng::with_rng(rng, |rng| {
            self.inner
                .key
                .sign_with_rng(rng, Pkcs1v15Sign::new::<Sha256>(), &digest)
        })
        .map_err(|e| match e {
            rsa::Error::Rng => KeyError::Rng,
            other => KeyError::Crypto(other.to_string()),
        })
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("thumbprint", &self.inner.public.thumbprint())
            .finish_non_exhaustive()
    }
}
