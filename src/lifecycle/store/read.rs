//! What one read of the store returns.

use std::fmt;

use crate::time::UnixTime;

/// What one read of the store returned, in one round trip.
///
/// ```
/// use line_channel_token::store::{Body, Read};
/// use line_channel_token::UnixTime;
/// // Redis: TIME, the version field and the body field, from one script.
/// let (seconds, micros, version) = (1_700_000_000_u64, 250_000_u64, 3);
/// let now = UnixTime::from_millis(seconds * 1000 + micros / 1000);
/// let read = Read { now, version, body: Body::Absent }; // or Body::Present(bytes)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// The store's time (Redis: `TIME`), read in the same round trip: the fleet's one clock.
    pub now: UnixTime,
    /// The record's version, `0` if the key does not exist.
    pub version: u64,
    /// The record's body.
    pub body: Body,
}

/// A record body as the store holds it. It holds the shared access token: `Debug` shows only
/// its length.
///
/// ```
/// use line_channel_token::store::{Body, MAX_RECORD_LEN};
/// // An adapter checks the length first (Redis: HSTRLEN), and never reads a planted giant.
/// let length = 1 << 20;
/// let body = if length > MAX_RECORD_LEN { Body::TooLarge(length) } else { Body::Present(vec![]) };
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum Body {
    /// The key does not exist.
    Absent,
    /// The bytes, at most [`MAX_RECORD_LEN`](super::MAX_RECORD_LEN).
    Present(Vec<u8>),
    /// The store holds more than [`MAX_RECORD_LEN`](super::MAX_RECORD_LEN) bytes (this many), left unread.
    TooLarge(usize),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Absent => f.write_str("Absent"),
            Body::Present(bytes) => write!(f, "Present(<{} bytes>)", bytes.len()),
            Body::TooLarge(len) => f.debug_tuple("TooLarge").field(len).finish(),
        }
    }
}
