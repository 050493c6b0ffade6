//! Token lifecycle: the refresh-ahead cache, the multi-channel pool and v2.1 rotation. It calls
//! the protocol and JOSE layers; nothing below calls back up here.

pub mod cache;
pub(crate) mod policy;
pub mod pool;
pub mod rotation;
pub mod store;
