//! What the library's demo, the `line-token` package and its tests share, so none of them
//! includes another's files: the emulator served on 127.0.0.1 ([`http_server`]), the ureq
//! transport ([`transport`]), with the `reqwest` feature the async examples' transport
//! ([`reqwest_transport`]) and, with the `redis` feature, the fleet's Redis adapter
//! ([`redis_store`]). Not published.

#![forbid(unsafe_code)]

pub mod http_server;
#[cfg(feature = "redis")]
pub mod redis_deadline;
#[cfg(feature = "redis")]
mod redis_redirect;
#[cfg(feature = "redis")]
pub mod redis_store;
#[cfg(feature = "reqwest")]
pub mod reqwest_transport;
pub mod transport;
