//! # line-channel-token
//!
//! Gets, keeps and retires LINE Messaging API **channel access tokens**, without doing any I/O.
//!
//! (The full manual is filled in as the crate grows.)

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod api_base;
pub mod endpoint;
mod error;
mod secret;
mod time;
mod token;

pub use api_base::{ApiBase, InvalidApiBase, LINE_API_BASE};
pub use endpoint::{
    call, call_async, request_id, CallError, Endpoint, IssueShortLived, IssueStateless, IssueV21,
    KeyIdsV21, Operation, Revoke, RevokeV21, Verify, VerifyV21, WithHttpInfo,
};
pub use error::{ApiError, DecodeError, Error, ErrorBody, ErrorDetail};
pub use secret::{AccessToken, ChannelSecret, ClientAssertion};
pub use time::UnixTime;
pub use token::{IssuedToken, KeyIds, TokenInfo};
