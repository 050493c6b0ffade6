//! Why a shared pool gave no token.

use std::fmt;

use crate::lifecycle::cache::DriveError;

/// Why [`SharedPool::get_token`](super::SharedPool::get_token) returned no token.
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
