//! The hidden setup of the `store` module's doc examples, which declare it as a module
//! (`#[path = ".../tests/common/doc_store.rs"] mod doc_store;`): a fleet's config, the store's
//! clock, one store key in memory (blocking and async) and a LINE that always issues. Not a
//! module of any test.
#![allow(dead_code)]

use std::time::Duration;

use line_channel_token::store::{Body, Failure, Read, StoreConfig, Write};
use line_channel_token::{IssuedToken, TokenKind, UnixTime};

/// A fleet's config: stateless tokens of channel 1234567890.
pub fn config() -> StoreConfig {
    config_of("1234567890")
}

/// The config of a fleet of another channel.
pub fn config_of(channel_id: &str) -> StoreConfig {
    StoreConfig::new(channel_id, TokenKind::Stateless, Duration::from_secs(900)).unwrap()
}

/// A fleet's config for a counted kind: short-lived tokens of channel 1234567890.
pub fn counted_config() -> StoreConfig {
    StoreConfig::new("1234567890", TokenKind::ShortLived, Duration::from_secs(30 * 86_400))
        .unwrap()
}

/// The store's clock in the examples.
pub fn store_now() -> UnixTime {
    UnixTime::from_secs(1_700_000_000)
}

/// One store key in memory: a version and a body, compare-and-swapped.
#[derive(Debug, Default)]
pub struct Memory {
    pub version: u64,
    pub body: Option<String>,
}

impl Memory {
    fn get(&self) -> Read {
        let body = self.body.clone();
        let body = body.map_or(Body::Absent, |b| Body::Present(b.into_bytes()));
        Read { now: store_now(), version: self.version, body }
    }
    fn put(&mut self, write: &Write) -> bool {
        if self.version != write.expected_version() {
            return false;
        }
        self.version = write.new_version();
        self.body = Some(write.body());
        true
    }
}

impl line_channel_token::store::Store for Memory {
    type Error = std::convert::Infallible;
    fn read(&mut self) -> Result<Read, Self::Error> {
        Ok(self.get())
    }
    fn swap(&mut self, write: &Write) -> Result<bool, Self::Error> {
        Ok(self.put(write))
    }
}

impl line_channel_token::store::AsyncStore for Memory {
    type Error = std::convert::Infallible;
    async fn read(&mut self) -> Result<Read, Self::Error> {
        Ok(self.get())
    }
    async fn swap(&mut self, write: &Write) -> Result<bool, Self::Error> {
        Ok(self.put(write))
    }
}

/// LINE, issuing a 15-minute token on every call.
pub struct Line;

impl line_channel_token::store::Refresher for Line {
    type Error = String;
    fn issue(&mut self, _: Duration) -> Result<IssuedToken, (Failure, String)> {
        Ok(issued("t0k"))
    }
    fn key_ids(&mut self, _: Duration) -> Result<Vec<String>, (Failure, String)> {
        Ok(Vec::new())
    }
}

/// A token as LINE issues it.
pub fn issued(token: &str) -> IssuedToken {
    let json = format!(r#"{{"access_token":"{token}","expires_in":900,"token_type":"Bearer"}}"#);
    serde_json::from_str(&json).unwrap()
}
