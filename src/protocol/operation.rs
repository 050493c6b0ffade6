//! The channel access token operations, declared once.
//!
//! Each row of [`operations!`] is everything LINE documents about an operation's route: the
//! HTTP method, the path, the `operationId` in LINE's OpenAPI spec (the official SDKs' method
//! name) and a short name for messages. The enum, every accessor and [`Operation::ALL`] are
//! generated from it, so a new row cannot be half-added: there is no wildcard arm to fall into
//! and no array length to count by hand.

use std::fmt;

use http::Method;

macro_rules! operations {
    ($(
        $(#[$doc:meta])*
        ($variant:ident, $method:ident, $path:literal, $operation_id:literal, $display:literal);
    )+) => {
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
            pub fn method(self) -> Method {
                match self {
                    $(Operation::$variant => Method::$method,)+
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
    };
}

operations! {
    /// `POST /v2/oauth/accessToken`: issue a short-lived token (30 days).
    (IssueShortLived, POST, "/v2/oauth/accessToken", "issueChannelToken", "issue short-lived token");
    /// `POST /v2/oauth/verify`: verify a short-lived or long-lived token.
    (Verify, POST, "/v2/oauth/verify", "verifyChannelToken", "verify token");
    /// `POST /v2/oauth/revoke`: revoke a short-lived or long-lived token.
    (Revoke, POST, "/v2/oauth/revoke", "revokeChannelToken", "revoke token");
    /// `POST /oauth2/v2.1/token`: issue a v2.1 token with a JWT assertion.
    (IssueV21, POST, "/oauth2/v2.1/token", "issueChannelTokenByJWT", "issue v2.1 token");
    /// `GET /oauth2/v2.1/verify`: verify a v2.1 token.
    (VerifyV21, GET, "/oauth2/v2.1/verify", "verifyChannelTokenByJWT", "verify v2.1 token");
    /// `GET /oauth2/v2.1/tokens/kid`: the key ids of all valid v2.1 tokens.
    (KeyIdsV21, GET, "/oauth2/v2.1/tokens/kid", "getsAllValidChannelAccessTokenKeyIds", "list v2.1 key ids");
    /// `POST /oauth2/v2.1/revoke`: revoke a v2.1 token.
    (RevokeV21, POST, "/oauth2/v2.1/revoke", "revokeChannelTokenByJWT", "revoke v2.1 token");
    /// `POST /oauth2/v3/token`: issue a stateless token (15 minutes).
    (IssueStateless, POST, "/oauth2/v3/token", "issueStatelessChannelToken", "issue stateless token");
}

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
