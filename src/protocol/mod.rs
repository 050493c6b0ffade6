//! The wire protocol: LINE's API base, the operations, the endpoints as request builders
//! and response parsers, their typed answers and errors. Nothing here knows about caching,
//! keys' insides or the emulator: this layer depends only on `facts`, `secret` and `time`.

pub(crate) mod api_base;
pub(crate) mod call;
pub mod endpoints;
pub(crate) mod error;
pub(crate) mod error_body;
pub(crate) mod http_date;
pub(crate) mod known_secrets;
pub(crate) mod operation;
pub(crate) mod redact;
pub(crate) mod refusal;
#[cfg(feature = "emulator")]
pub(crate) mod sample;
pub(crate) mod token;
pub(crate) mod wire;
