//! # line-channel-token
//!
//! Gets, keeps and retires LINE Messaging API **channel access tokens**, without doing any I/O.
//!
//! (The full manual is filled in as the crate grows.)

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod api_base;
mod assertion;
mod base64url;
pub mod cache;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod endpoint;
mod error;
mod jwk;
pub mod jwt;
mod key;
pub mod pool;
pub mod rotation;
mod secret;
mod time;
mod token;

pub use api_base::{ApiBase, InvalidApiBase, LINE_API_BASE};
pub use assertion::{
    AssertionBuilder, AssertionClaims, AssertionError, AUDIENCE, MAX_ASSERTION_TTL, MAX_TOKEN_EXP,
};
pub use endpoint::{
    call, call_async, request_id, CallError, Endpoint, IssueShortLived, IssueStateless, IssueV21,
    KeyIdsV21, Operation, Revoke, RevokeV21, Verify, VerifyV21, WithHttpInfo,
};
pub use error::{ApiError, DecodeError, Error, ErrorBody, ErrorDetail};
pub use jwk::PublicJwk;
pub use jwt::{Jwt, JwtError};
pub use key::{KeyError, SigningKey, REQUIRED_BITS};
/// The RNG traits the signer takes (`rand_core` 0.6, as the `rsa` crate uses it).
pub use rsa::rand_core;
/// The operating system's RNG (feature `os-rng`, on by default).
#[cfg(feature = "os-rng")]
pub use rsa::rand_core::OsRng;
pub use secret::{AccessToken, ChannelSecret, ClientAssertion};
pub use time::UnixTime;
pub use token::{IssuedToken, KeyIds, TokenInfo};
