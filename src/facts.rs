//! LINE's documented facts about channel access tokens, written once.
//!
//! Every other module (the cache, rotation, assertions, the emulator and the `line-token`
//! CLI) takes its lifetimes, caps and constants from here, so a change in LINE's docs is a
//! change in one place. Source: LINE Developers, "Channel access token" and the Messaging API
//! reference (<https://developers.line.biz/en/docs/basics/channel-access-token/>).

use std::time::Duration;

/// `aud` of every client assertion.
pub const AUDIENCE: &str = "https://api.line.me/";

/// `client_assertion_type` of every JWT-authenticated request (RFC 7523's JWT bearer type).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `grant_type` of every issuing request: LINE supports only the client credentials grant.
pub const GRANT_TYPE: &str = "client_credentials";

/// `token_type` of every issued token.
pub const TOKEN_TYPE: &str = "Bearer";

/// The response header in which LINE names each request, to quote when asking LINE about a
/// call. Read it with [`crate::request_id`], which redacts a value that looks like a credential.
///
/// ```
/// use line_channel_token::facts::REQUEST_ID_HEADER;
/// let response = line_channel_token::http::Response::builder()
///     .header(REQUEST_ID_HEADER, "3f0c1b6e")
///     .body(())
///     .unwrap();
/// assert_eq!(line_channel_token::request_id(&response).as_deref(), Some("3f0c1b6e"));
/// ```
pub const REQUEST_ID_HEADER: &str = "x-line-request-id";

/// The JWS `alg` LINE requires of client assertions.
pub const ASSERTION_ALG: &str = "RS256";

/// The JWS `typ` LINE requires of client assertions.
pub const ASSERTION_TYP: &str = "JWT";

/// LINE rejects assertions whose `exp` is more than 30 minutes after they are made.
pub const MAX_ASSERTION_TTL: Duration = Duration::from_secs(30 * 60);

/// The longest v2.1 token LINE issues (`token_exp` of the assertion): 30 days.
pub const MAX_TOKEN_EXP: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// A stateless token lives 15 minutes.
pub const STATELESS_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// A short-lived token lives 30 days.
pub const SHORT_LIVED_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// At most 30 short-lived tokens are active per channel; issuing a 31st revokes the oldest.
pub const MAX_ACTIVE_SHORT_LIVED: usize = 30;

/// At most 30 v2.1 tokens are active per channel; a 31st issuance is refused.
pub const MAX_ACTIVE_V21: usize = 30;

/// One long-lived token per channel; reissuing it in the Console replaces the old one.
pub const MAX_ACTIVE_LONG_LIVED: usize = 1;

/// The four kinds of channel access token LINE issues.
///
/// ```
/// use std::time::Duration;
/// use line_channel_token::TokenKind;
///
/// assert_eq!(TokenKind::Stateless.fixed_lifetime(), Some(Duration::from_secs(15 * 60)));
/// assert_eq!(TokenKind::V21.fixed_lifetime(), None); // chosen by `token_exp`
/// assert_eq!(serde_json::to_string(&TokenKind::V21).unwrap(), r#""v2.1""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TokenKind {
    /// Stateless, 15 minutes, unlimited, not revocable (`/oauth2/v3/token`).
    #[serde(rename = "stateless")]
    Stateless,
    /// Short-lived, 30 days, at most 30 active, the oldest revoked (`/v2/oauth/accessToken`).
    #[serde(rename = "short-lived")]
    ShortLived,
    /// v2.1, `token_exp` up to 30 days, at most 30 active, then refused (`/oauth2/v2.1/token`).
    #[serde(rename = "v2.1")]
    V21,
    /// Long-lived, issued in the LINE Developers Console, never expires, one per channel.
    #[serde(rename = "long-lived")]
    LongLived,
}

impl TokenKind {
    /// The lifetime LINE gives this kind: fixed for stateless and short-lived, chosen by the
    /// assertion's `token_exp` (at most [`MAX_TOKEN_EXP`]) for v2.1, none for long-lived.
    pub const fn fixed_lifetime(self) -> Option<Duration> {
        match self {
            TokenKind::Stateless => Some(STATELESS_LIFETIME),
            TokenKind::ShortLived => Some(SHORT_LIVED_LIFETIME),
            TokenKind::V21 | TokenKind::LongLived => None,
        }
    }

    /// How many tokens of this kind may be active per channel, if LINE caps them.
    pub const fn max_active(self) -> Option<usize> {
        match self {
            TokenKind::Stateless => None,
            TokenKind::ShortLived => Some(MAX_ACTIVE_SHORT_LIVED),
            TokenKind::V21 => Some(MAX_ACTIVE_V21),
            TokenKind::LongLived => Some(MAX_ACTIVE_LONG_LIVED),
        }
    }

    /// Whether LINE counts active tokens of this kind against a cap that issuing more can hit
    /// (short-lived and v2.1): these must not be issued on every call.
    pub const fn is_counted(self) -> bool {
        matches!(self, TokenKind::ShortLived | TokenKind::V21)
    }

    /// The name used in files, the CLI and serde: `stateless`, `short-lived`, `v2.1`,
    /// `long-lived`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenKind::Stateless => "stateless",
            TokenKind::ShortLived => "short-lived",
            TokenKind::V21 => "v2.1",
            TokenKind::LongLived => "long-lived",
        }
    }
}

impl std::fmt::Display for TokenKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde() {
        for kind in [
            TokenKind::Stateless,
            TokenKind::ShortLived,
            TokenKind::V21,
            TokenKind::LongLived,
        ] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<TokenKind>(&json).unwrap(), kind);
        }
    }
}
