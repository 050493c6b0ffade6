//! What the endpoints answer: issued tokens, verification results and key ids.

use std::time::Duration;

use crate::secret::AccessToken;
use crate::time::UnixTime;

/// A freshly issued channel access token (short-lived, v2.1 or stateless).
///
/// Unknown fields in LINE's answer are ignored.
///
/// ```
/// use std::time::Duration;
/// use line_channel_token::{IssuedToken, UnixTime};
///
/// let token: IssuedToken = serde_json::from_str(
///     r#"{"access_token":"eyJhbGciOiJIUz.....","token_type":"Bearer","expires_in":2592000,"key_id":"sDTOzw5wIfxxxxPEzcmeQA"}"#,
/// ).unwrap();
/// assert_eq!(token.lifetime(), Duration::from_secs(30 * 24 * 3600));
/// let now = UnixTime::from_secs(1_700_000_000);
/// assert_eq!(token.expires_at(now), UnixTime::from_secs(1_702_592_000));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IssuedToken {
    /// `access_token`: the bearer credential.
    pub access_token: AccessToken,
    /// `expires_in`: seconds from issuance to expiry (900 for stateless, up to 2,592,000 for
    /// short-lived and v2.1).
    pub expires_in: u64,
    /// `token_type`: always `Bearer`.
    #[serde(default = "bearer")]
    pub token_type: String,
    /// `key_id`: identifies a v2.1 token in the key-ids listing; absent for other types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

fn bearer() -> String {
    crate::facts::TOKEN_TYPE.to_owned()
}

impl IssuedToken {
    /// `expires_in` as a duration.
    pub fn lifetime(&self) -> Duration {
        Duration::from_secs(self.expires_in)
    }

    /// When the token expires, given when it was issued (the `now` of the request, as the
    /// caller measures it).
    pub fn expires_at(&self, issued_at: UnixTime) -> UnixTime {
        issued_at + self.lifetime()
    }
}

/// The result of verifying a token (`/v2/oauth/verify` or `/oauth2/v2.1/verify`).
///
/// ```
/// use line_channel_token::{TokenInfo, UnixTime};
/// let info: TokenInfo =
///     serde_json::from_str(r#"{"client_id":"1350031035","expires_in":900,"scope":"P CM"}"#).unwrap();
/// let verified_at = UnixTime::from_secs(1_700_000_000);
/// assert_eq!(info.expires_at(verified_at), UnixTime::from_secs(1_700_000_900));
/// assert_eq!(info.scope.as_deref(), Some("P CM"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct TokenInfo {
    /// `client_id`: the channel the token was issued for.
    pub client_id: String,
    /// `expires_in`: seconds left. Long-lived tokens report about 3.1e9, beyond `i32`.
    pub expires_in: u64,
    /// `scope`: the token's permissions, e.g. `P CM`; "Not always included".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl TokenInfo {
    /// When the token expires, given when it was verified.
    pub fn expires_at(&self, verified_at: UnixTime) -> UnixTime {
        verified_at + Duration::from_secs(self.expires_in)
    }
}

/// The key ids of every valid v2.1 token of a channel (`/oauth2/v2.1/tokens/kid`).
///
/// Match them against the (`access_token`, `key_id`) pairs you stored at issuance: a pair whose
/// key id is listed is live; one that is not has expired or been revoked.
///
/// ```
/// use line_channel_token::KeyIds;
/// let live: KeyIds = serde_json::from_str(r#"{"kids":["U_gdnFYKTWRxxxxDVZexGg"]}"#).unwrap();
/// assert!(live.contains("U_gdnFYKTWRxxxxDVZexGg"));
/// assert!(!live.contains("sDTOzw5wIfxxxxPEzcmeQA")); // expired or revoked: drop its token
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct KeyIds {
    /// `kids`.
    pub kids: Vec<String>,
}

impl KeyIds {
    /// Whether a token with this `key_id` is still valid.
    pub fn contains(&self, key_id: &str) -> bool {
        self.kids.iter().any(|k| k == key_id)
    }
}
