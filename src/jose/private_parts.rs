//! The numbers of an RSA private key as read from a JWK or a PEM, and the proof that they form
//! a sound key: every loader ends here, so JWK and PEM keys pass exactly the same checks.
//!
//! Checked, in order, each refusal naming what is wrong:
//! 1. `n` is 2048 bits and odd; `e` is odd, 3 to 2^32 - 1;
//! 2. `p × q = n`, `p ≠ q`, both at most half the size of `n` (by `rsa`);
//! 3. `d < n` and `d × e ≡ 1` modulo `p − 1` and `q − 1` (by `rsa`);
//! 4. the CRT values the key carries (`dp`, `dq`, `qi`; PKCS#1 `exponent1`, `exponent2`,
//!    `coefficient`) equal the ones computed from `p`, `q` and `d` (compared in constant time);
//! 5. `p` and `q` are probable primes: Miller–Rabin with the rounds of FIPS 186-5 Table B.1.
//!    A Carmichael number in place of a prime passes every other check, and a signature made
//!    with the key would verify: this proof replaced the load-time test signature, which
//!    could not tell the two apart.

use crypto_primes::hazmat::MillerRabin;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BoxedUint, PrivateKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::jose::error::KeyError;
use crate::jose::jwk::REQUIRED_BITS;
use crate::jose::jwk::{bit_len, check_exponent, check_size, trim_zeros};
use crate::secret::ct_eq;

/// Secret bytes, wiped on drop.
pub(crate) type SecretBytes = Zeroizing<Vec<u8>>;

/// Big-endian numbers, as decoded from the key's text.
pub(crate) struct Parts {
    pub(crate) n: Vec<u8>,
    pub(crate) e: Vec<u8>,
    pub(crate) d: SecretBytes,
    /// `p` and `q`; absent only in a JWK that omits them (then `rsa` recovers them from `d`).
    pub(crate) primes: Option<(SecretBytes, SecretBytes)>,
    pub(crate) dp: Option<SecretBytes>,
    pub(crate) dq: Option<SecretBytes>,
    pub(crate) qi: Option<SecretBytes>,
}

impl Parts {
    /// Proves the numbers form a sound two-prime RSA-2048 key, and builds it.
    pub(crate) fn into_key(self) -> Result<PrivateKey, KeyError> {
        let n = trim_zeros(&self.n);
        check_size(n)?;
        if n.last().is_some_and(|b| b % 2 == 0) {
            return Err(KeyError::Inconsistent("n"));
        }
        let e = check_exponent(trim_zeros(&self.e))?;
        let bits = REQUIRED_BITS as u32;
        let n = BoxedUint::from_be_slice(n, bits).map_err(|_| KeyError::WrongSize(bit_len(n)))?;
        // Our copies of d, p and q are wiped on drop, on every refusal path too; `rsa` gets
        // clones (and wipes them once they are a key).
        let d = Zeroizing::new(
            BoxedUint::from_be_slice(trim_zeros(&self.d), bits)
                .map_err(|_| KeyError::Inconsistent("d"))?,
        );
        // `rsa` computes d × e − 1 when recovering p and q: d = 0 would underflow there (a
        // panic in `crypto-bigint`), so 2 ≤ d < n is checked first, for every key.
        let two = BoxedUint::from_be_slice(&[2], bits).map_err(|_| KeyError::Inconsistent("d"))?;
        if *d < two || *d >= n {
            return Err(KeyError::Inconsistent("d"));
        }
        let recovering = self.primes.is_none();
        let primes = match &self.primes {
            Some((p, q)) => {
                let (p, q) = (prime(p)?, prime(q)?);
                Zeroizing::new(vec![(*p).clone(), (*q).clone()])
            }
            None => Zeroizing::new(Vec::new()),
        };
        let key = PrivateKey::from_components(n, e, (*d).clone(), (*primes).clone());
        let key = key.map_err(|err| match err {
            rsa::Error::PublicExponentTooSmall | rsa::Error::PublicExponentTooLarge => {
                KeyError::Inconsistent("e")
            }
            rsa::Error::ModulusTooSmall | rsa::Error::ModulusTooLarge => {
                KeyError::WrongSize(REQUIRED_BITS)
            }
            // Without p and q, `rsa` recovers them from d: any failure there is d's.
            _ if recovering => KeyError::Inconsistent("d"),
            rsa::Error::InvalidExponent => KeyError::Inconsistent("d"),
            _ => KeyError::Inconsistent("p, q"),
        })?;
        for (name, given, computed) in [
            ("dp", &self.dp, key.dp().cloned()),
            ("dq", &self.dq, key.dq().cloned()),
            ("qi", &self.qi, key.crt_coefficient()),
        ] {
            let computed = computed.map(Zeroizing::new);
            if let Some(given) = given {
                match computed {
                    Some(computed) if same_number(&computed, given) => {}
                    _ => return Err(KeyError::Inconsistent(name)),
                }
            }
        }
        check_primes(&key)?;
        Ok(key)
    }
}

/// A prime factor at the half-modulus width `rsa` uses for two-prime keys.
fn prime(bytes: &[u8]) -> Result<Zeroizing<BoxedUint>, KeyError> {
    BoxedUint::from_be_slice(trim_zeros(bytes), REQUIRED_BITS as u32 / 2)
        .map(Zeroizing::new)
        .map_err(|_| KeyError::Inconsistent("p, q"))
}

/// Whether `given` (big-endian, any leading zeros) is the number `computed`, in time that does
/// not depend on the secret value.
fn same_number(computed: &BoxedUint, given: &[u8]) -> bool {
    let computed = Zeroizing::new(computed.to_be_bytes());
    let given = trim_zeros(given);
    if given.len() > computed.len() {
        return false;
    }
    let mut padded = Zeroizing::new(vec![0u8; computed.len()]);
    let start = computed.len() - given.len();
    padded[start..].copy_from_slice(given);
    ct_eq(&computed, &padded)
}

/// Rounds of Miller–Rabin for a 1024-bit `p` or `q`: FIPS 186-5 Table B.1 (error at most
/// 2^-100 for normally generated `p` and `q` of 1024 bits). A composite crafted to fool the
/// test can pass each random round with probability up to 1/4 (up to 1/64 over the 3 random
/// rounds with `os-rng`); without `os-rng` the bases are fixed by `n`, so one that passes once
/// always passes.
const MILLER_RABIN_ROUNDS: u8 = 4;

/// Proves `p` and `q` probable primes by Miller–Rabin: base 2, then random bases (the OS RNG
/// with `os-rng`, else SHA-256 of `n`, the factor and the round). A Carmichael number passes
/// every Fermat test, so the key signs and verifies as a sound one would: only this check
/// refuses it. Not constant time: it checks a key being loaded, not a secret being used.
fn check_primes(key: &PrivateKey) -> Result<(), KeyError> {
    let n = key.as_public_key().n().as_ref().to_be_bytes();
    for (name, prime) in ["p", "q"].into_iter().zip(key.primes()) {
        // At the half-modulus width: `rsa` keeps the primes as wide as `n`, and the test's
        // cost grows with the width, not the value.
        let bytes = Zeroizing::new(prime.as_ref().to_be_bytes());
        let Ok(prime) = BoxedUint::from_be_slice(trim_zeros(&bytes), REQUIRED_BITS as u32 / 2)
        else {
            return Err(KeyError::Inconsistent("p, q"));
        };
        let prime = Zeroizing::new(prime);
        let Some(odd) = prime.to_odd().into_option() else {
            return Err(KeyError::NotPrime(name));
        };
        let mr = MillerRabin::new(odd);
        let composite = (0..MILLER_RABIN_ROUNDS).any(|round| {
            let base = if round == 0 {
                BoxedUint::from_be_slice(&[2], REQUIRED_BITS as u32 / 2).ok()
            } else {
                base_from(&n, name, round, &prime)
            };
            base.is_none_or(|b| !mr.test(&b).is_probably_prime())
        });
        if composite {
            return Err(KeyError::NotPrime(name));
        }
    }
    Ok(())
}

/// A Miller–Rabin base in `[2, prime − 2]`: from the OS RNG with `os-rng` (a key crafted to
/// fool known bases cannot know these, though each can still be passed with probability up
/// to 1/4), else from SHA-256 of `n`, the factor's name and the
/// round (the loader takes no RNG).
fn base_from(n: &[u8], name: &str, round: u8, prime: &BoxedUint) -> Option<BoxedUint> {
    let bits = REQUIRED_BITS as u32 / 2;
    let mut bytes = Vec::with_capacity(128);
    #[cfg(feature = "os-rng")]
    {
        bytes.resize(128, 0);
        if getrandom::fill(&mut bytes).is_err() {
            bytes.clear();
        }
    }
    let mut block = 0u8;
    while bytes.len() < 128 {
        let digest = Sha256::new()
            .chain_update(n)
            .chain_update(name.as_bytes())
            .chain_update([round, block])
            .finalize();
        bytes.extend_from_slice(&digest);
        block += 1;
    }
    // One bit short of the prime's 1024, plus 2: always in range for a 1024-bit prime.
    bytes[0] &= 0x7f;
    let raw = BoxedUint::from_be_slice(&bytes, bits).ok()?;
    let two = BoxedUint::from_be_slice(&[2], bits).ok()?;
    let base = raw.wrapping_add(&two);
    (base < prime.wrapping_sub(&two)).then_some(base)
}

/// A number as the minimal big-endian bytes a JWK wants, wiped on drop. Trimming reveals the
/// length, which the encoded output reveals anyway.
pub(crate) fn minimal_bytes(value: &BoxedUint) -> SecretBytes {
    let full = Zeroizing::new(value.to_be_bytes());
    Zeroizing::new(trim_zeros(&full).to_vec())
}

/// The big-endian bytes of `key`'s components, for export.
pub(crate) struct Exported {
    pub(crate) d: SecretBytes,
    pub(crate) p: SecretBytes,
    pub(crate) q: SecretBytes,
    pub(crate) dp: SecretBytes,
    pub(crate) dq: SecretBytes,
    pub(crate) qi: SecretBytes,
}

impl Exported {
    /// `None` only for a key without CRT values, which [`Parts::into_key`] never builds.
    pub(crate) fn of(key: &PrivateKey) -> Option<Exported> {
        let primes = key.primes();
        let qi = Zeroizing::new(key.crt_coefficient()?);
        Some(Exported {
            d: minimal_bytes(key.d()),
            p: minimal_bytes(primes.first()?),
            q: minimal_bytes(primes.get(1)?),
            dp: minimal_bytes(key.dp()?),
            dq: minimal_bytes(key.dq()?),
            qi: minimal_bytes(&qi),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_number_ignores_leading_zeros_only() {
        let seven = BoxedUint::from_be_slice(&[7], 64).unwrap();
        assert!(same_number(&seven, &[7]));
        assert!(same_number(&seven, &[0, 0, 7]));
        assert!(!same_number(&seven, &[8]));
        assert!(!same_number(&seven, &[1, 0, 0, 0, 0, 0, 0, 0, 7]));
        assert_eq!(*minimal_bytes(&seven), vec![7]);
    }

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[1]), 1);
        assert_eq!(bit_len(&[0x80, 0]), 16);
    }
}
