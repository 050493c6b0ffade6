//! What the library's demo, the `line-token` package and its tests share, so none of them
//! includes another's files: the emulator served on 127.0.0.1 ([`http_server`]), the ureq
//! transport ([`transport`]) and, with the `redis` feature, the fleet's Redis adapter
//! ([`redis_store`]). Not published.

#![forbid(unsafe_code)]

pub mod http_server;
#[cfg(feature = "redis")]
pub mod redis_store;
pub mod transport;
