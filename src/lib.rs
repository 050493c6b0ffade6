//! # line-channel-token
//!
//! Gets, keeps and retires LINE Messaging API **channel access tokens**, as a sans-IO
//! protocol library: it builds `http::Request` values and parses `http::Response` bytes for
//! every channel access token endpoint, signs the RS256 client assertions LINE's JWT flows
//! need, and keeps tokens warm with a refresh-ahead cache. It never opens a socket, reads the
//! clock or sleeps: you pass in `now`, randomness and an HTTP client.
//!
//! `cargo add line-channel-token` is all you need: the crate re-exports [`http`], so use
//! `line_channel_token::http` for the requests and responses and keep no `http` dependency
//! (or version) of your own.
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
//! use line_channel_token::{call, http, ApiBase, ChannelSecret, IssueStateless};
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
//! | stateless | [`IssueStateless`] | secret or assertion | 15 minutes | unlimited | no |
//! | short-lived | [`IssueShortLived`] | secret | 30 days | 30 (oldest revoked) | [`Revoke`] |
//! | v2.1 | [`IssueV21`] | assertion | `token_exp`, up to 30 days | 30 (then refused) | [`RevokeV21`] |
//! | long-lived | LINE Developers Console | - | no expiry | 1 | [`Revoke`] |
//!
//! Prefer **stateless** tokens kept warm by [`cache::TokenCache`]: nothing to store or revoke.
//! Use **v2.1** when you need tokens that you can revoke and rotate on your own schedule
//! ([`rotation`]), **short-lived** when only the channel secret is available and 30-day tokens
//! suit you.
//!
//! ## The main items
//!
//! | item | what it is |
//! |---|---|
//! | [`Endpoint`] | one LINE token endpoint as a value: `to_request`, `parse_response` |
//! | [`IssueStateless`], [`IssueShortLived`], [`IssueV21`] | issue a token (`issueStatelessChannelToken`, `issueChannelToken`, `issueChannelTokenByJWT`) |
//! | [`Verify`], [`VerifyV21`] | ask LINE whether a token is valid, and for how long |
//! | [`Revoke`], [`RevokeV21`], [`KeyIdsV21`] | revoke tokens; list the key ids of live v2.1 tokens |
//! | [`call`], [`call_async`] | run an endpoint through your HTTP client closure |
//! | [`ApiBase`] | where requests go (`https://api.line.me`, or an emulator) |
//! | [`ChannelSecret`], [`AccessToken`], [`ClientAssertion`] | secrets: redacted, wiped on drop, compared in constant time |
//! | [`SigningKey`] | an RSA-2048 assertion signing key, proved sound at load |
//! | [`PublicJwk`] | its public half, as the LINE Developers Console wants it |
//! | [`AssertionBuilder`] | LINE's client assertion (JWT), checked and signed |
//! | [`cache::TokenCache`] | one channel's token kept warm: `poll(now)` says what to do |
//! | [`pool::TokenPool`] | thousands of channels, next deadline in O(log n) |
//! | [`cache::SharedCache`], [`pool::SharedPool`] | one cache, or a pool, shared by threads or async tasks: one refresh in flight, the rest woken by its answer |
//! | [`rotation`] | v2.1 token records, reconciliation and rotation plans |
//! | [`Error`], [`KeyError`], [`AssertionError`] | what went wrong, and what to do about it |
//! | [`facts`] | LINE's documented limits and lifetimes, in one place |
//! | [`rand_core`], `OsRng` | the randomness the signer takes (see below) |
//!
//! ## JWT assertions
//!
//! v2.1 issuance, key-id listing and stateless-by-assertion issuance authenticate with a client assertion
//! signed by your assertion signing key: generate one ([`SigningKey::generate`]), register
//! [`SigningKey::public_jwk`] in the Console to get a `kid`, then
//! [`AssertionBuilder::sign`]. Keys load from private JWKs and PKCS#1/PKCS#8 PEM once, and are
//! checked against LINE's rules (RSA-2048, RS256) and proved sound: `p × q = n`, `d` inverts
//! `e`, the CRT values the file carries are the right ones, and `p` and `q` are probable
//! primes (Miller–Rabin, FIPS 186-5 Table B.1 rounds: a Carmichael number is refused).
//!
//! ## Randomness
//!
//! The crate never reaches for randomness on its own: the only thing that needs it is the RSA
//! private-key operation, which is **blinded** (RSA's standard defence against timing side
//! channels, on top of `rsa` 0.10's constant-time arithmetic). The design:
//!
//! - **Traits, not a type of ours.** Signing and key generation take any
//!   `R: `[`rand_core::TryCryptoRng`]` + ?Sized`, the trait `rsa` 0.10 itself takes, re-exported
//!   here as [`rand_core`] (version 0.10) so you never need a second copy. Every
//!   `CryptoRng` is a `TryCryptoRng`; a failing RNG gives [`KeyError::Rng`], never a panic.
//! - **The OS RNG only by feature.** With `os-rng` (default), `OsRng` is getrandom's `SysRng`:
//!   pass `&mut OsRng`. Without it the crate has no OS dependency and builds for
//!   `wasm32-unknown-unknown` with no imports; pass an RNG fed by the host
//!   (`crypto.getRandomValues` in a worker).
//! - **Only assertion flows need one.** The endpoints sign nothing themselves and take no RNG;
//!   channel-secret flows (stateless and short-lived by secret, verify, revoke) need no
//!   randomness at all. The signature does not depend on the RNG (RS256 is deterministic);
//!   only the blinding factor does.
//! - **Long-lived state should take randomness once.** The design for state machines that
//!   sign on their own schedule is quinn-proto's: the blinding RNG is given once at
//!   construction, and retry jitter derives from a seed given at construction (`rng_seed`),
//!   so `poll` and `handle_*` need none. [`cache::TokenCache`] works that way: assertion
//!   [`cache::Credentials`] keep a [`cache::BlindingRng`] given once (`Box::new(OsRng)`, or
//!   any `Send + Sync` `TryCryptoRng`), and jitter comes from
//!   [`cache::TokenCacheBuilder::seed`] (by default from the OS RNG with `os-rng`).
//!
//! ## Keeping tokens
//!
//! [`cache::TokenCache`] is a state machine in the style of quinn-proto: `poll(now)` answers
//! use this token, send this refresh, wait for the refresh in flight, or wait until T; it
//! never reads the clock, sleeps or locks. Its drivers, [`cache::drive`] and
//! [`cache::drive_async`] (and [`cache::SharedCache`] for threads and async tasks sharing one
//! cache, [`pool::SharedPool`] for many channels), run that loop over your HTTP client the way
//! [`call`] runs one endpoint. It refreshes in two stages ahead of expiry with per-instance
//! jitter, lets one caller refresh at a time and wakes the others when the answer is in, backs
//! off every refresh that produced no usable token, issues at most once per 10 s (but answers
//! a 401's [`cache::TokenCache::invalidate`] at once, backing off if every token is
//! rejected), and hands back counted tokens it does not keep so they can be revoked. Its
//! [`cache::CacheState`] is serde data without secrets, repaired rather than trusted on
//! restore. [`pool::TokenPool`] holds a million channels in under 900 bytes each, no call
//! O(n); [`rotation`] plans v2.1 rotation within LINE's limit of 30. [`store`] lets a fleet of
//! processes on many machines share one issuance through a store they already run (Redis,
//! SQL, DynamoDB): a record, a lease fenced by the record's version, decisions on the
//! store's clock, and [`store::drive`] over an adapter of two operations ([`store::Store`]).
//!
//! ## Testing without LINE
//!
//! With the `emulator` feature, `emulator::Emulator` answers requests as LINE does, limits
//! and error bodies included; the `line-emulator` program (`examples/line-token`) serves it on
//! 127.0.0.1. The
//! emulator's machinery (JWT decoding and verification: `jwt::Jwt`, `jwt::JwtError`) is public only
//! with that feature.
//!
//! ## Security notes
//!
//! Secrets ([`ChannelSecret`], [`AccessToken`], [`ClientAssertion`], [`SigningKey`]) never
//! appear in `Debug` or `Display`; reading one is an explicit `expose_secret`. They are wiped
//! on drop and compared in constant time; so are the crate's own intermediate buffers (decoded
//! key bytes, key text it exports, the signing input). A request the crate builds is an
//! `http::Request<Vec<u8>>` that becomes yours, and your HTTP client's, once returned. The
//! README's Security section states the threat model and exactly what is and is not promised.
//!
//! ## Features
//!
//! - `os-rng` (default): `OsRng`, the operating system's RNG (getrandom's `SysRng`). Without
//!   it the crate builds for `wasm32-unknown-unknown`; pass your own [`rand_core::TryCryptoRng`].
//! - `emulator`: the `emulator` module (a LINE token server emulator) and JWT decoding.
//!
//! ## Debug builds
//!
//! RSA arithmetic unoptimised is slow (15 - 16 ms a signature). Dependants keep their debug
//! builds fast by optimising just the crates that do the arithmetic (a signature then takes
//! 1.6 - 1.8 ms, as in a release build; the README's "Debug builds" has the measurements):
//!
//! ```toml
//! [profile.dev.package.crypto-bigint]
//! opt-level = 3
//! [profile.dev.package.ctutils]
//! opt-level = 3
//! [profile.dev.package.cmov]
//! opt-level = 3
//! [profile.dev.package.sha2]
//! opt-level = 3
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod facts;
mod jose;
mod lifecycle;
mod protocol;
mod secret;
mod time;

#[cfg(feature = "emulator")]
pub mod emulator;

pub use jose::jwt;
pub use lifecycle::{cache, pool, rotation, store};

pub use facts::{TokenKind, AUDIENCE, MAX_ASSERTION_TTL, MAX_TOKEN_EXP};
/// The operating system's RNG (feature `os-rng`, on by default): getrandom's `SysRng`.
/// A `TryCryptoRng`: pass `&mut OsRng` to any signing or key-generation call.
#[cfg(feature = "os-rng")]
pub use getrandom::SysRng as OsRng;
/// The `http` crate (1.x) whose `Request` and `Response` this crate builds and parses:
/// use `line_channel_token::http` and you need no `http` dependency of your own, nor a
/// version to keep matching this crate's.
pub use http;
pub use jose::assertion::{AssertionBuilder, AssertionClaims, AssertionError};
pub use jose::error::KeyError;
pub use jose::jwk::{PublicJwk, REQUIRED_BITS};
pub use jose::key::SigningKey;
pub use protocol::api_base::{ApiBase, InvalidApiBase, LINE_API_BASE};
pub use protocol::call::{call, call_async, CallError};
// Every endpoint, `Endpoint`, `WithHttpInfo` and `Operation`: a new endpoint needs no line here.
pub use protocol::endpoints::*;
pub use protocol::error::{ApiError, DecodeError, Error};
pub use protocol::error_body::{ErrorBody, ErrorDetail};
pub use protocol::known_secrets::KnownSecrets;
pub use protocol::token::{IssuedToken, KeyIds, TokenInfo};
pub use protocol::wire::request_id;
/// The RNG traits the signer takes (`rand_core` 0.10, the version `rsa` 0.10 uses).
/// See "Randomness" in the crate docs.
pub use rsa::rand_core;
pub use secret::{AccessToken, ChannelSecret, ClientAssertion};
pub use time::UnixTime;
