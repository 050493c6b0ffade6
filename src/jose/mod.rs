//! JOSE: base64url, RSA signing keys and their JWKs, RS256 JWTs and LINE's client assertions.
//! Builds on nothing above it; the protocol and lifecycle layers call into it.
//!
//! Inside, dependencies point one way: `error` <- `jwk` (public keys) <- `private_parts`
//! (proving a private key sound) <- `key` (the signing key) <- `jwt` <- `assertion`; `rng`
//! (the caller's RNG, type-erased for `rsa`) serves `private_parts` and `key`.

pub(crate) mod assertion;
pub(crate) mod base64url;
pub(crate) mod error;
pub(crate) mod jwk;
pub mod jwt;
pub(crate) mod key;
pub(crate) mod private_parts;
pub(crate) mod rng;
