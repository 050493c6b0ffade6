//! What a fetch's end means to a person, and whether trying again later may help.

use std::fmt;

use super::config::StoreConfig;
use super::decide::WaitReason;
use super::fetch::Outcome;
use crate::lifecycle::cache::CachedToken;
use crate::lifecycle::policy::capped_expiry;
use crate::protocol::token::IssuedToken;
use crate::time::UnixTime;

/// How a fetch ends with this process's own token, issued by a request sent at `sent_at`
/// (`committed`: whether the store holds it): the token, unless it has expired by `now` (the
/// call took longer than the token lives) or is empty.
pub(crate) fn own(
    config: &StoreConfig,
    token: &IssuedToken,
    sent_at: UnixTime,
    now: UnixTime,
    committed: bool,
) -> Outcome {
    let stored = CachedToken {
        access_token: token.access_token.clone(),
        issued_at: sent_at,
        expires_at: capped_expiry(config.kind(), sent_at, token.lifetime()),
        key_id: token.key_id.clone(),
    };
    if stored.expires_at <= now || stored.access_token.expose_secret().is_empty() {
        return Outcome::IssuedExpired;
    }
    Outcome::Token {
        token: stored,
        committed,
    }
}

impl Outcome {
    /// Whether running the fetch again later may get a token without anyone acting: true for
    /// a wait, a store that failed or could not be reached, a retryable call to LINE and a
    /// token that expired during a slow call; false for a token (nothing to retry), a refused
    /// record, a refusal by LINE and a store that does not keep its writes (a person must
    /// look at the key, the credential or the store's settings).
    ///
    /// ```
    /// use line_channel_token::store::Outcome;
    /// assert!(Outcome::IssuedExpired.is_retryable());
    /// assert!(!Outcome::WritesLost(3).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Outcome::Wait(_) | Outcome::StoreFailed | Outcome::IssuedExpired => true,
            Outcome::IssueFailed(f) => f.retryable,
            Outcome::Token { .. } | Outcome::Refused(_) | Outcome::WritesLost(_) => false,
        }
    }
}

/// A sentence for a person: what happened and what to do. No secret: a token is not shown.
///
/// ```
/// use line_channel_token::store::Outcome;
/// let shown = Outcome::IssuedExpired.to_string();
/// assert!(shown.contains("expired") && shown.contains("try again"));
/// ```
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Token { committed: true, .. } => f.write_str("got a token from the store"),
            Outcome::Token { .. } => f.write_str(
                "got a token, but the store failed before it recorded it: the fleet will issue again",
            ),
            Outcome::Wait(w) => {
                f.write_str("no token yet: ")?;
                match &w.reason {
                    WaitReason::Refreshing { by, .. } => write!(f, "process {by} is refreshing")?,
                    WaitReason::Backoff(n) => write!(f, "{} refreshes failed in a row", n.count)?,
                    WaitReason::Budget { active, .. } => {
                        write!(f, "the fleet has {active} tokens out, its whole budget")?;
                    }
                    WaitReason::Settling => f.write_str("calls under lost leases may still run")?,
                    WaitReason::Throttled => f.write_str("a token was issued a moment ago")?,
                }
                write!(f, "; the fleet waits until {}; try again then", w.until)
            }
            Outcome::StoreFailed => f.write_str(
                "the store failed or could not be reached (or a step was answered out of turn); try again",
            ),
            Outcome::IssueFailed(fail) if fail.retryable => write!(
                f,
                "the call to LINE failed ({}); try again later",
                fail.status.map_or("no answer".to_owned(), |s| format!("HTTP {s}"))
            ),
            Outcome::IssueFailed(fail) => write!(
                f,
                "LINE refused the request ({}): check the channel's credential",
                fail.status.map_or("no status".to_owned(), |s| format!("HTTP {s}"))
            ),
            Outcome::Refused(e) => fmt::Display::fmt(e, f),
            Outcome::WritesLost(n) => write!(
                f,
                "the store does not keep its writes: {n} in a row were gone at the next read, until the wait limit; its key is evicted (Redis: set maxmemory-policy noeviction, or no maxmemory), flushed, or lost in a failover to a replica that did not have it"
            ),
            Outcome::IssuedExpired => f.write_str(
                "the token LINE issued had expired by the time the store was read after the call (the call took longer than the token lives); try again, with a longer token lifetime (v2.1 token_exp) if it keeps happening",
            ),
        }
    }
}
