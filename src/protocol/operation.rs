//! What an operation is: the [`operations!`] macro that turns the table of operations (in
//! `endpoints.rs`, beside the endpoint files it declares) into the enum, its accessors and
//! [`Operation::ALL`].
//!
//! Each row is everything LINE documents about an operation's route: the HTTP method, the
//! path, the `operationId` in LINE's OpenAPI spec (the official SDKs' method name) and a short
//! name for messages, plus the file of its endpoint, whose type has the variant's name. A new
//! row cannot be half-added: the macro declares the endpoint's module and re-exports its type,
//! every `match` it writes is exhaustive and no array length is counted by hand. With the
//! emulator, it also writes the dispatch from an operation to its endpoint's sample
//! (`protocol/sample.rs`), so the emulator's samples need no list of their own.

use std::fmt;

#[cfg(feature = "emulator")]
use http::Method;

macro_rules! operations {
    ($(
        $(#[$doc:meta])*
        ($variant:ident in $module:ident, $method:ident, $path:literal, $operation_id:literal, $display:literal);
    )+) => {
        $(mod $module;)+
        $(pub use $module::$variant;)+

        /// The channel access token operations, by LINE's names.
        ///
        /// ```
        /// use line_channel_token::http;
        /// use line_channel_token::Operation;
        /// assert_eq!(Operation::IssueV21.method(), http::Method::POST);
        /// assert_eq!(Operation::IssueV21.path(), "/oauth2/v2.1/token");
        /// assert_eq!(Operation::IssueV21.line_operation_id(), "issueChannelTokenByJWT");
        /// assert_eq!(Operation::IssueV21.to_string(), "issue v2.1 token");
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Operation {
            $(
                $(#[$doc])*
                $variant,
            )+
        }

        impl Operation {
            /// Every operation, in LINE's reference order. The length is counted by the macro.
            pub const ALL: [Operation; [$(Operation::$variant),+].len()] =
                [$(Operation::$variant),+];

            /// The HTTP method.
            pub fn method(self) -> ::http::Method {
                match self {
                    $(Operation::$variant => ::http::Method::$method,)+
                }
            }

            /// The path below the API base.
            pub const fn path(self) -> &'static str {
                match self {
                    $(Operation::$variant => $path,)+
                }
            }

            /// The `operationId` in LINE's OpenAPI spec (and the official SDKs' method names).
            pub const fn line_operation_id(self) -> &'static str {
                match self {
                    $(Operation::$variant => $operation_id,)+
                }
            }

            /// A short name for messages, e.g. "issue v2.1 token" (also its `Display`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Operation::$variant => $display,)+
                }
            }
        }

        #[cfg(feature = "emulator")]
        impl Operation {
            /// The request this operation's endpoint builds from the sample inputs.
            pub(crate) fn sample_request(
                self,
                inputs: &crate::protocol::sample::SampleInputs<'_>,
                api: &crate::protocol::api_base::ApiBase,
            ) -> ::http::Request<Vec<u8>> {
                use crate::protocol::sample::Sample;
                match self {
                    $(Operation::$variant => Endpoint::to_request(&$variant::sample(inputs), api),)+
                }
            }

            /// The body of LINE's example of a successful answer.
            pub(crate) fn sample_answer(self) -> &'static str {
                use crate::protocol::sample::Sample;
                match self {
                    $(Operation::$variant => <$variant as Sample>::ANSWER,)+
                }
            }

            /// Parses `response` with this operation's endpoint, keeping only the outcome.
            pub(crate) fn parse_as<B: AsRef<[u8]>>(
                self,
                response: &::http::Response<B>,
            ) -> Result<(), crate::protocol::error::Error> {
                match self {
                    $(Operation::$variant => <$variant as Endpoint>::parse_response(response).map(drop),)+
                }
            }
        }
    };
}

/// Defined where the table is (`endpoints.rs`); named here too, where the layers look for it.
pub(crate) use crate::protocol::endpoints::Operation;
pub(crate) use operations;

impl Operation {
    /// Which operation a method and path name (the inverse of [`Operation::method`] and
    /// [`Operation::path`]). Servers need this, clients do not, so it stays inside the crate
    /// (the emulator routes with it).
    #[cfg(feature = "emulator")]
    pub(crate) fn from_route(method: &Method, path: &str) -> Option<Operation> {
        Operation::ALL
            .into_iter()
            .find(|op| op.path() == path && op.method() == *method)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_listed_once_with_a_unique_route_and_id() {
        let mut routes = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        for op in Operation::ALL {
            assert!(routes.insert((op.method(), op.path())), "{op:?}");
            assert!(ids.insert(op.line_operation_id()), "{op:?}");
            assert!(op.path().starts_with('/'), "{op:?}");
        }
    }

    #[cfg(feature = "emulator")]
    #[test]
    fn routes_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_route(&op.method(), op.path()), Some(op));
        }
        assert_eq!(
            Operation::from_route(&Method::GET, "/v2/oauth/verify"),
            None
        );
    }
}
