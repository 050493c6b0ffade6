//! Compact JWS with RS256: signing (for client assertions) and, with the `emulator` feature,
//! decoding and verification (for the emulator and tests). Nothing else of JOSE: no other
//! algorithms, no JWE.

#[cfg(feature = "emulator")]
use std::fmt;

use rsa::rand_core::TryCryptoRng;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::jose::base64url;
use crate::jose::error::KeyError;
#[cfg(feature = "emulator")]
use crate::jose::jwk::PublicJwk;
use crate::jose::key::SigningKey;
use crate::secret::ClientAssertion;

/// Signs `header` and `claims` (any serialisable values) into a compact RS256 JWS:
/// `base64url(header) . base64url(claims) . base64url(signature)`.
///
/// The header must say `"alg": "RS256"`; [`crate::AssertionBuilder`] builds LINE's for you.
///
/// The token is a bearer credential: it is returned as a [`ClientAssertion`] (redacted, wiped
/// on drop), and the intermediate buffers are wiped too.
///
/// # Errors
///
/// [`KeyError::Crypto`] if `header` or `claims` fail to serialise; [`KeyError::Rng`] if `rng`
/// fails.
///
/// ```
/// # #[cfg(feature = "os-rng")] {
/// use line_channel_token::{jwt, OsRng, SigningKey};
///
/// let key = SigningKey::parse(include_str!("../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap();
/// let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "kid-1"});
/// let claims = serde_json::json!({"iss": "1234567890", "exp": 1_700_000_000});
/// let token = jwt::sign_rs256(&header, &claims, &key, &mut OsRng).unwrap();
/// let verified = jwt::Jwt::verify_rs256(token.expose_secret(), key.public_jwk()).unwrap();
/// assert_eq!(verified.kid(), Some("kid-1"));
/// # }
/// ```
pub fn sign_rs256<H: Serialize, C: Serialize, R: TryCryptoRng + ?Sized>(
    header: &H,
    claims: &C,
    key: &SigningKey,
    rng: &mut R,
) -> Result<ClientAssertion, KeyError> {
    let header = Zeroizing::new(serde_json::to_vec(header).map_err(|_| not_json())?);
    let claims = Zeroizing::new(serde_json::to_vec(claims).map_err(|_| not_json())?);
    // One buffer, sized for the whole token (header + claims + a 256-byte signature), so it
    // never reallocates and leaves no unwiped copy behind.
    let capacity = (header.len() + claims.len() + 256).div_ceil(3) * 4 + 8;
    let mut jws = Zeroizing::new(String::with_capacity(capacity));
    base64url::encode_into(&header, &mut jws);
    jws.push('.');
    base64url::encode_into(&claims, &mut jws);
    let signature = Zeroizing::new(key.sign_rs256(jws.as_bytes(), rng)?);
    jws.push('.');
    base64url::encode_into(&signature, &mut jws);
    // Moved, not copied: the assertion type wipes it from here on.
    Ok(ClientAssertion::new(std::mem::take(&mut *jws)))
}

/// Only a `Serialize` impl that refuses (or a map with non-string keys) gets here.
fn not_json() -> KeyError {
    KeyError::Crypto("the JWT header or claims do not serialise to a JSON object".to_owned())
}

/// A decoded compact JWS: its header and claims as JSON objects. (With the `emulator`
/// feature: decoding and verifying tokens is the emulator's job, not a client's.)
///
/// ```
/// use line_channel_token::jwt::Jwt;
///
/// // {"alg":"RS256","kid":"k"} . {"iss":"1234567890"} . (signature)
/// let jwt = Jwt::decode_unverified("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJpc3MiOiIxMjM0NTY3ODkwIn0.c2ln").unwrap();
/// assert_eq!(jwt.kid(), Some("k"));
/// assert_eq!(jwt.claim_str("iss"), Some("1234567890"));
/// ```
#[cfg(feature = "emulator")]
#[derive(Debug, Clone, PartialEq)]
pub struct Jwt {
    /// The JOSE header.
    pub header: serde_json::Map<String, serde_json::Value>,
    /// The claims (payload).
    pub claims: serde_json::Map<String, serde_json::Value>,
}

#[cfg(feature = "emulator")]
impl Jwt {
    /// The header's `kid`, if it is a string.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(|v| v.as_str())
    }

    /// A header member as a string.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(|v| v.as_str())
    }

    /// A claim as a string.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(|v| v.as_str())
    }

    /// A claim as a non-negative integer (`exp`, `token_exp`).
    pub fn claim_u64(&self, name: &str) -> Option<u64> {
        self.claims.get(name).and_then(|v| v.as_u64())
    }

    /// Decodes header and claims **without** checking the signature: only to find out which key
    /// to verify with (the `kid`). Never trust the result before [`Jwt::verify_rs256`].
    ///
    /// # Errors
    ///
    /// [`JwtError::Malformed`] unless `token` is three base64url parts with JSON objects.
    ///
    /// ```
    /// use line_channel_token::jwt::{Jwt, JwtError};
    ///
    /// let jwt = Jwt::decode_unverified("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJpc3MiOiIxMjM0NTY3ODkwIn0.c2ln").unwrap();
    /// assert_eq!(jwt.header_str("alg"), Some("RS256"));
    /// assert!(matches!(Jwt::decode_unverified("not a jwt"), Err(JwtError::Malformed(_))));
    /// ```
    pub fn decode_unverified(token: &str) -> Result<Jwt, JwtError> {
        let (header, claims, _) = split(token)?;
        Ok(Jwt {
            header: json_object(header, "header")?,
            claims: json_object(claims, "claims")?,
        })
    }

    /// Decodes a compact JWS and checks that it is RS256 and signed by `key`.
    ///
    /// # Errors
    ///
    /// [`JwtError`]: malformed, not RS256, or a signature that does not verify.
    ///
    /// ```
    /// # #[cfg(feature = "os-rng")] {
    /// use line_channel_token::jwt::{Jwt, JwtError};
    /// use line_channel_token::{AssertionBuilder, OsRng, SigningKey, UnixTime};
    ///
    /// let key = SigningKey::parse(include_str!("../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap();
    /// let now = UnixTime::from_secs(1_700_000_000);
    /// let assertion = AssertionBuilder::new("1234567890", "kid-1").sign(&key, now, &mut OsRng).unwrap();
    /// let jwt = Jwt::verify_rs256(assertion.expose_secret(), key.public_jwk()).unwrap();
    /// assert_eq!(jwt.claim_str("iss"), Some("1234567890"));
    /// let other = SigningKey::parse(include_str!("../../tests/keys/line-docs-node-jose.jwk.json")).unwrap();
    /// let err = Jwt::verify_rs256(assertion.expose_secret(), other.public_jwk()).unwrap_err();
    /// assert_eq!(err, JwtError::BadSignature);
    /// # }
    /// ```
    pub fn verify_rs256(token: &str, key: &PublicJwk) -> Result<Jwt, JwtError> {
        let jwt = Jwt::decode_unverified(token)?;
        match jwt.header_str("alg") {
            Some("RS256") => {}
            other => {
                return Err(JwtError::Algorithm(
                    other.unwrap_or("(none)").chars().take(20).collect(),
                ))
            }
        }
        let (_, _, signature) = split(token)?;
        let signing_input_len = token.rfind('.').unwrap_or(0);
        let signature = base64url::decode(signature)
            .ok_or(JwtError::Malformed("signature is not base64url"))?;
        if !key.verify_rs256(&token.as_bytes()[..signing_input_len], &signature) {
            return Err(JwtError::BadSignature);
        }
        Ok(jwt)
    }
}

#[cfg(feature = "emulator")]
fn split(token: &str) -> Result<(&str, &str, &str), JwtError> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(c), Some(s), None) => Ok((h, c, s)),
        _ => Err(JwtError::Malformed(
            "a compact JWS has exactly three dot-separated parts",
        )),
    }
}

#[cfg(feature = "emulator")]
fn json_object(
    segment: &str,
    what: &'static str,
) -> Result<serde_json::Map<String, serde_json::Value>, JwtError> {
    let bytes = base64url::decode(segment).ok_or(JwtError::Malformed(match what {
        "header" => "header is not base64url",
        _ => "claims are not base64url",
    }))?;
    serde_json::from_slice(&bytes).map_err(|_| {
        JwtError::Malformed(match what {
            "header" => "header is not a JSON object",
            _ => "claims are not a JSON object",
        })
    })
}

/// Why a JWT did not decode or verify. Never contains the token.
///
/// ```
/// use line_channel_token::jwt::{Jwt, JwtError};
///
/// // {"alg":"HS256"} . {} . (signature)
/// let err = Jwt::verify_rs256("eyJhbGciOiJIUzI1NiJ9.e30.c2ln", &some_key()).unwrap_err();
/// assert_eq!(err, JwtError::Algorithm("HS256".into()));
/// # fn some_key() -> line_channel_token::PublicJwk {
/// #     line_channel_token::SigningKey::parse(include_str!("../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap().public_jwk().clone()
/// # }
/// ```
#[cfg(feature = "emulator")]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtError {
    /// Not a well-formed compact JWS.
    Malformed(&'static str),
    /// The header's `alg` is not `RS256`.
    Algorithm(String),
    /// The signature does not verify with the key.
    BadSignature,
}

#[cfg(feature = "emulator")]
impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwtError::Malformed(why) => write!(f, "malformed JWT: {why}"),
            JwtError::Algorithm(alg) => write!(f, "JWT alg is {alg:?}; only RS256 is accepted"),
            JwtError::BadSignature => f.write_str(
                "JWT signature does not verify with this key: wrong key or tampered token",
            ),
        }
    }
}

#[cfg(feature = "emulator")]
impl std::error::Error for JwtError {}
