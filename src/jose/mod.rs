//! JOSE: base64url, RSA signing keys and their JWKs, RS256 JWTs and LINE's client assertions.
//! Builds on nothing above it; the protocol and lifecycle layers call into it.

pub(crate) mod assertion;
pub(crate) mod base64url;
pub(crate) mod jwk;
pub mod jwt;
pub(crate) mod key;
