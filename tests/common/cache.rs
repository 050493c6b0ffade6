//! Shared by the cache, pool and rotation tests: an emulated LINE, caches with fixed seeds,
//! and a clock the test moves.

use std::cell::Cell;
use std::time::Duration;

use line_channel_token::cache::{CacheConfig, Credentials, TokenCache};
use line_channel_token::emulator::Emulator;
use line_channel_token::{ApiBase, ChannelSecret, SigningKey, UnixTime};

pub const CHANNEL: &str = "1234567890";
pub const SECRET: &str = "s3cret";
pub const T0: UnixTime = UnixTime::from_secs(1_700_000_000);

/// The emulated LINE with the test channel.
pub fn line() -> Emulator {
    let mut e = Emulator::with_seed(1);
    e.add_channel(CHANNEL, ChannelSecret::new(SECRET));
    e
}

pub fn secret_creds() -> Credentials {
    Credentials::stateless_by_secret(CHANNEL, ChannelSecret::new(SECRET))
}

/// A stateless-by-secret cache with a fixed jitter seed.
pub fn secret_cache() -> TokenCache {
    TokenCache::builder(ApiBase::default(), secret_creds())
        .seed(42)
        .build()
}

pub fn cache_with(config: CacheConfig) -> TokenCache {
    TokenCache::builder(ApiBase::default(), secret_creds())
        .config(config)
        .seed(42)
        .build()
}

pub fn docs_key() -> SigningKey {
    SigningKey::parse(super::PYJWT_DOCS_KEY).unwrap()
}

/// A clock the test moves; `sleep` advances it, so drivers never really wait.
pub struct SimClock(Cell<UnixTime>);

impl SimClock {
    pub fn new(start: UnixTime) -> SimClock {
        SimClock(Cell::new(start))
    }
    pub fn now(&self) -> UnixTime {
        self.0.get()
    }
    pub fn advance(&self, by: Duration) {
        self.0.set(self.0.get() + by);
    }
    pub fn set(&self, to: UnixTime) {
        self.0.set(to);
    }
}

/// Runs the blocking driver against the emulator on the simulated clock.
pub fn get(
    cache: &mut TokenCache,
    line: &mut Emulator,
    clock: &SimClock,
) -> Result<
    line_channel_token::AccessToken,
    line_channel_token::cache::DriveError<std::convert::Infallible>,
> {
    line_channel_token::cache::drive(
        cache,
        || clock.now(),
        |d| clock.advance(d),
        |req| Ok(line.handle(clock.now(), &req)),
    )
}

/// An `http::Response` with this status and JSON body.
pub fn answer(status: u16, body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

/// LINE's answer issuing `token` for `expires_in` seconds.
pub fn issued(token: &str, expires_in: u64) -> http::Response<Vec<u8>> {
    answer(
        200,
        &format!(r#"{{"access_token":"{token}","expires_in":{expires_in},"token_type":"Bearer"}}"#),
    )
}
