//! Why a shared pool gave no token.

use std::fmt;

use crate::lifecycle::cache::DriveError;

/// Why [`SharedPool::get_token`](super::SharedPool::get_token) returned no token.
///
/// ```
/// use line_channel_token::pool::{PoolError, SharedPool, TokenPool};
/// use line_channel_token::{http, UnixTime};
///
/// let pool: SharedPool<String> = SharedPool::new(TokenPool::new(), |_: &String| None);
/// let now = || UnixTime::from_secs(1_700_000_000);
/// let send = |_req| Ok::<_, std::io::Error>(http::Response::new(Vec::new()));
/// match pool.get_token("1234567890", now, send) {
///     Err(PoolError::UnknownChannel) => {} // not a tenant of this pool
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum PoolError<E> {
    /// The channel is not in the pool, and the tenants closure gave no cache for it.
    UnknownChannel,
    /// The channel's refresh failed: see [`DriveError`].
    Drive(DriveError<E>),
}

impl<E: fmt::Display> fmt::Display for PoolError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::UnknownChannel => f.write_str(
                "the channel is not in the token pool and has no credentials: add it, or have the tenants closure return its cache",
            ),
            PoolError::Drive(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for PoolError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PoolError::UnknownChannel => None,
            PoolError::Drive(e) => Some(e),
        }
    }
}
