//! # line-channel-token
//!
//! Gets, keeps and retires LINE Messaging API **channel access tokens**, as a sans-IO
//! protocol library: it builds `http::Request` values and parses `http::Response` bytes for
//! all eight channel access token endpoints, signs the RS256 client assertions LINE's JWT flows
//! need, and keeps tokens warm with a refresh-ahead cache. It never opens a socket, reads the
//! clock or sleeps: you pass in `now`, randomness and an HTTP client.
//!
//! ## The sans-IO model
//!
//! Every endpoint is a value implementing [`Endpoint`]. Data flows one way:
//!
//! ```text
//! IssueStateless::by_secret(..) --to_request--> http::Request<Vec<u8>>
//!        --(your HTTP client: ureq, reqwest, hyper, WASM fetch)--> http::Response<bytes>
//!        --parse_response--> IssuedToken | Error
//! ```
//!
//! [`call`] (blocking) and [`call_async`] run an endpoint through any closure from request to
//! response, so a whole client adapter is a few lines:
//!
//! ```no_run
//! use line_channel_token::{call, ApiBase, ChannelSecret, IssueStateless};
//!
//! let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().new_agent();
//! let send = |req| -> Result<http::Response<Vec<u8>>, ureq::Error> {
//!     let (parts, mut body) = agent.run(req)?.into_parts();
//!     Ok(http::Response::from_parts(parts, body.read_to_vec()?))
//! };
//! let secret = ChannelSecret::new(std::env::var("LINE_CHANNEL_SECRET").unwrap());
//! let token = call(&ApiBase::default(), &IssueStateless::by_secret("1234567890", &secret), send).unwrap();
//! println!("valid for {} s", token.expires_in);
//! ```
//!
//! ## Token types, and which to choose
//!
//! | type | issue with | auth | lifetime | active at once | revoke |
//! |---|---|---|---|---|---|
//! | stateless | [`IssueStateless`] | secret or JWT | 15 minutes | unlimited | no |
//! | short-lived | [`IssueShortLived`] | secret | 30 days | 30 (oldest revoked) | [`Revoke`] |
//! | v2.1 | [`IssueV21`] | JWT | `token_exp`, up to 30 days | 30 (then refused) | [`RevokeV21`] |
//! | long-lived | LINE Developers Console | - | no expiry | 1 | [`Revoke`] |
//!
//! Prefer **stateless** tokens kept warm by [`cache::TokenCache`]: nothing to store or revoke.
//! Use **v2.1** when you need tokens that you can revoke and rotate on your own schedule
//! ([`rotation`]), **short-lived** when only the channel secret is available and 30-day tokens
//! suit you.
//!
//! ## JWT assertions
//!
//! v2.1 issuance, key-id listing and stateless-by-JWT authenticate with a client assertion
//! signed by your assertion signing key: generate one ([`SigningKey::generate`]), register
//! [`SigningKey::public_jwk`] in the Console to get a `kid`, then
//! [`AssertionBuilder::sign`]. Keys load from private JWKs and PKCS#1/PKCS#8 PEM once, and are
//! checked against LINE's rules (RSA-2048, RS256).
//!
//! ## Keeping tokens
//!
//! [`cache::TokenCache`] is a state machine in the style of quinn-proto: `poll(now)` answers
//! use this token, send this refresh, wait for the refresh in flight, or wait until T; it
//! never reads the clock, sleeps or locks. Its drivers, [`cache::drive`] and
//! [`cache::drive_async`] (and [`cache::SharedCache`] for threads), run that loop over your
//! HTTP client the way [`call`] runs one endpoint. It refreshes in two stages ahead of expiry
//! with per-instance jitter, lets one caller refresh at a time and wakes the others when the
//! answer is in, backs off every refresh that produced no usable token, issues at most once per
//! 10 s, and hands back counted tokens it does not keep so they can be revoked. Its
//! [`cache::CacheState`] is serde data without secrets, repaired rather than trusted on
//! restore. [`pool::TokenPool`] holds a million channels in under 900 bytes each, no call
//! O(n); [`rotation`] plans v2.1 rotation within LINE's limit of 30. [`store`] lets a fleet of
//! processes on many machines share one issuance through a store they already run (Redis,
//! SQL, DynamoDB): a record, a lease fenced by the record's version, and [`store::decide`].
//!
//! ## Testing without LINE
//!
//! With the `emulator` feature, `emulator::Emulator` answers requests as LINE does, limits
//! and error bodies included; `examples/line-emulator.rs` serves it on 127.0.0.1.
//!
//! ## Security notes
//!
//! Secrets ([`ChannelSecret`], [`AccessToken`], [`ClientAssertion`], [`SigningKey`]) never
//! appear in `Debug` or `Display`; reading one is an explicit `expose_secret`. Signatures are
//! blinded. See the README's Security section for the threat model and RUSTSEC-2023-0071.
//!
//! ## Features
//!
//! - `os-rng` (default): re-exports the operating system RNG as `OsRng`. Without it the
//!   crate builds for `wasm32-unknown-unknown`; pass your own [`rand_core::CryptoRngCore`].
//! - `emulator`: the `emulator` module (a LINE token server emulator).

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod facts;
mod jose;
mod lifecycle;
mod protocol;
mod secret;
mod time;

#[cfg(feature = "emulator")]
pub mod emulator;

/// The wire protocol: one value per LINE endpoint, turned into an `http::Request` and parsed
/// back from an `http::Response`, and the [`call`] adapters that run one through
/// any HTTP client. Everything here is also re-exported at the crate root.
pub mod endpoint {
    pub use crate::facts::CLIENT_ASSERTION_TYPE;
    pub use crate::protocol::call::{call, call_async, CallError};
    pub use crate::protocol::endpoints::{
        Endpoint, IssueShortLived, IssueStateless, IssueV21, KeyIdsV21, Revoke, RevokeV21, Verify,
        VerifyV21, WithHttpInfo,
    };
    pub use crate::protocol::operation::Operation;
    pub use crate::protocol::wire::{request_id, REQUEST_ID_HEADER, USER_AGENT_VALUE};
}

pub use jose::jwt;
pub use lifecycle::{cache, pool, rotation, store};

pub use facts::{TokenKind, AUDIENCE, MAX_ASSERTION_TTL, MAX_TOKEN_EXP};
pub use jose::assertion::{AssertionBuilder, AssertionClaims, AssertionError};
pub use jose::jwk::PublicJwk;
pub use jose::jwt::{Jwt, JwtError};
pub use jose::key::{KeyError, SigningKey, REQUIRED_BITS};
pub use protocol::api_base::{ApiBase, InvalidApiBase, LINE_API_BASE};
pub use protocol::call::{call, call_async, CallError};
pub use protocol::endpoints::{
    Endpoint, IssueShortLived, IssueStateless, IssueV21, KeyIdsV21, Revoke, RevokeV21, Verify,
    VerifyV21, WithHttpInfo,
};
pub use protocol::error::{ApiError, DecodeError, Error};
pub use protocol::error_body::{ErrorBody, ErrorDetail};
pub use protocol::operation::Operation;
pub use protocol::token::{IssuedToken, KeyIds, TokenInfo};
pub use protocol::wire::request_id;
/// The RNG traits the signer takes (`rand_core` 0.6, as the `rsa` crate uses it).
pub use rsa::rand_core;
/// The operating system's RNG (feature `os-rng`, on by default).
#[cfg(feature = "os-rng")]
pub use rsa::rand_core::OsRng;
pub use secret::{AccessToken, ChannelSecret, ClientAssertion};
pub use time::UnixTime;
