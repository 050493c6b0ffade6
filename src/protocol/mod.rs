//! The wire protocol: LINE's API base, the eight endpoints as request builders and response
//! parsers, their typed answers and errors. Nothing here knows about caching or keys' insides.

pub(crate) mod api_base;
pub mod endpoints;
pub(crate) mod error;
pub(crate) mod token;
