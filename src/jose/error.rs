//! Why a key, or a signature with it, was refused. Never contains key material.

use std::fmt;

/// Why a key was refused. Never contains key material.
///
/// ```
/// use line_channel_token::{KeyError, SigningKey};
///
/// let err = SigningKey::parse("-----BEGIN ENCRYPTED PRIVATE KEY-----\n...").unwrap_err();
/// assert_eq!(err, KeyError::Encrypted);
/// println!("{err}"); // says what to do, e.g. how to remove the passphrase
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// Neither a JWK (`{...}`) nor a PEM block.
    UnrecognizedFormat,
    /// The JWK is not valid JSON (position given, content not echoed).
    Json(String),
    /// The JWK is valid JSON but not a usable JWK object: a member appears twice (RFC 7517 §4
    /// forbids it) or has the wrong JSON type (position given, content not echoed).
    NotAJwk(String),
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
    /// The key's numbers do not fit together: the named JWK member (`n`, `e`, `d`, `p, q`,
    /// `dp`, `dq`, `qi`; PKCS#1 names in the message) is wrong.
    Inconsistent(&'static str),
    /// The named factor (`p`, `q`) is not prime: `p × q = n` and `d` fit, but the Baillie–PSW
    /// probable-prime test (Miller–Rabin base 2 and a strong Lucas test) proves it composite,
    /// or a test signature made at load did not verify (`p or q`).
    NotPrime(&'static str),
    /// More than two primes (`oth`): not supported.
    MultiPrime,
    /// The PEM is encrypted with a passphrase.
    Encrypted,
    /// The PEM block is malformed or is not an RSA key.
    Pem(String),
    /// Key generation or export failed.
    Crypto(String),
    /// The random number generator failed (key generation or signature blinding).
    Rng,
}

impl KeyError {
    /// Serde's own message is not used: for a mistyped member it quotes the value.
    pub(crate) fn json(e: serde_json::Error) -> KeyError {
        let at = format!("line {} column {}", e.line(), e.column());
        match e.classify() {
            serde_json::error::Category::Data => KeyError::NotAJwk(at),
            _ => KeyError::Json(at),
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::UnrecognizedFormat => f.write_str(
                "unrecognised key format: give a private JWK ({\"kty\":\"RSA\",...}), a PKCS#8 PEM (BEGIN PRIVATE KEY) or a PKCS#1 PEM (BEGIN RSA PRIVATE KEY)",
            ),
            KeyError::Json(at) => write!(f, "the JWK is not valid JSON (at {at})"),
            KeyError::NotAJwk(at) => write!(
                f,
                "the JWK is JSON but not a usable JWK object (at {at}): a member appears twice, or is not a string (key_ops: an array of strings); give each member once"
            ),
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
            KeyError::Inconsistent(member) => {
                let what = match *member {
                    "n" => "n is even, so it cannot be an RSA modulus",
                    "e" => "e must be odd and from 3 to 2^32 - 1 (LINE keys use 65537)",
                    "d" => "d is not the private exponent for e (d × e ≠ 1 modulo p − 1 and q − 1, or d ≥ n)",
                    "p, q" => "p and q do not multiply to n, are equal, or are not half the size of n",
                    "dp" => "dp (PKCS#1 exponent1) is not d mod (p − 1)",
                    "dq" => "dq (PKCS#1 exponent2) is not d mod (q − 1)",
                    "qi" => "qi (PKCS#1 coefficient) is not q⁻¹ mod p",
                    other => other,
                };
                write!(f, "the key's numbers are inconsistent: {what}; the key is corrupt or was edited")
            }
            KeyError::NotPrime(member) => write!(
                f,
                "{member} is not prime: the key's numbers multiply and invert correctly, but {member} is composite (a crafted Carmichael number, or a corrupt key); generate a new one",
            ),
            KeyError::MultiPrime => f.write_str("multi-prime RSA keys (oth) are not supported; use a two-prime RSA-2048 key"),
            KeyError::Encrypted => f.write_str(
                "the PEM key is encrypted; decrypt it first: `openssl pkey -in key.pem -out key-plain.pem` (keep the result private, mode 0600)",
            ),
            KeyError::Pem(why) => write!(f, "the PEM key could not be read: {why}"),
            KeyError::Crypto(why) => write!(f, "RSA operation failed: {why}"),
            KeyError::Rng => f.write_str(
                "the random number generator failed; on wasm32 check the RNG your host passes in",
            ),
        }
    }
}

impl std::error::Error for KeyError {}
