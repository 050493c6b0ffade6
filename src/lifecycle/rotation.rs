//! v2.1 token records, reconciliation with LINE's key-id listing, and rotation planning.
//!
//! LINE's guide: store each v2.1 token with its `key_id`; the key-ids endpoint lists the ids
//! of the tokens still valid, so a stored pair whose id is listed is live and one whose id is
//! not is gone (expired or revoked). At most 30 v2.1 tokens may be active; a 31st issuance is
//! refused. [`plan`] turns that into steps that rotate without downtime: issue the new token
//! before the current one expires, switch to it, then revoke the old ones, and when the limit
//! would be hit, revoke the oldest first.
//!
//! ```
//! use std::time::Duration;
//! use line_channel_token::rotation::{plan, reconcile, RotationPolicy, Step, V21Record};
//! use line_channel_token::{AccessToken, KeyIds, UnixTime};
//!
//! let now = UnixTime::from_secs(1_000_000);
//! let day = Duration::from_secs(86_400);
//! let records = vec![
//!     V21Record { access_token: AccessToken::new("old"), key_id: "k1".into(), expires_at: now + day / 2 },
//!     V21Record { access_token: AccessToken::new("gone"), key_id: "k0".into(), expires_at: now + day },
//! ];
//! let listing = KeyIds { kids: vec!["k1".into()] };
//! let r = reconcile(&records, &listing);
//! assert_eq!(r.gone.len(), 1);
//! // The live token has half a day left: issue a new one, then revoke the old.
//! let steps = plan(&r, now, &RotationPolicy::default());
//! assert_eq!(steps, vec![Step::Issue, Step::RevokeAfterSwitch(vec!["k1".into()])]);
//! ```

use std::time::Duration;

use crate::protocol::token::KeyIds;
use crate::secret::AccessToken;
use crate::time::UnixTime;

use crate::facts::MAX_ACTIVE_V21;

/// A v2.1 token as you store it at issuance: the token, its `key_id` and its expiry.
///
/// ```
/// use line_channel_token::rotation::V21Record;
/// use line_channel_token::{IssuedToken, UnixTime};
///
/// let issued: IssuedToken = serde_json::from_str(
///     r#"{"access_token":"eyJhbGciOiJIUz.....","expires_in":2592000,"key_id":"sDTOzw5wIfxxxxPEzcmeQA"}"#,
/// ).unwrap();
/// let now = UnixTime::from_secs(1_700_000_000);
/// let record = V21Record {
///     expires_at: issued.expires_at(now),
///     key_id: issued.key_id.clone().unwrap(),
///     access_token: issued.access_token,
/// };
/// assert!(!serde_json::to_string(&record).unwrap().is_empty()); // store it; it holds the token
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct V21Record {
    /// The token.
    pub access_token: AccessToken,
    /// `key_id` from the issuance response.
    pub key_id: String,
    /// `issued_at + expires_in`.
    pub expires_at: UnixTime,
}

/// Stored records matched against LINE's listing.
///
/// ```
/// use line_channel_token::rotation::{reconcile, V21Record};
/// use line_channel_token::{AccessToken, KeyIds, UnixTime};
///
/// let record = |kid: &str| V21Record {
///     access_token: AccessToken::new(format!("token-{kid}")),
///     key_id: kid.into(),
///     expires_at: UnixTime::from_secs(2_000_000_000),
/// };
/// let listing = KeyIds { kids: vec!["k1".into(), "elsewhere".into()] };
/// let r = reconcile(&[record("k1"), record("k0")], &listing);
/// assert_eq!(r.live[0].key_id, "k1");
/// assert_eq!(r.gone[0].key_id, "k0"); // expired or revoked: delete the record
/// assert_eq!(r.unknown_kids, ["elsewhere"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reconciliation {
    /// Records whose `key_id` LINE lists: valid, usable, revocable.
    pub live: Vec<V21Record>,
    /// Records LINE no longer lists: expired or revoked. Delete them.
    pub gone: Vec<V21Record>,
    /// Key ids LINE lists that match no record: tokens issued elsewhere or lost. They count
    /// against the limit of 30 but cannot be revoked without their token.
    pub unknown_kids: Vec<String>,
}

/// Matches stored records with the key-ids listing.
pub fn reconcile(records: &[V21Record], listing: &KeyIds) -> Reconciliation {
    let mut r = Reconciliation::default();
    for rec in records {
        if listing.contains(&rec.key_id) {
            r.live.push(rec.clone());
        } else {
            r.gone.push(rec.clone());
        }
    }
    r.unknown_kids = listing
        .kids
        .iter()
        .filter(|k| !records.iter().any(|rec| &rec.key_id == *k))
        .cloned()
        .collect();
    r.live.sort_by_key(|rec| rec.expires_at);
    r
}

/// When to rotate.
///
/// ```
/// use std::time::Duration;
/// use line_channel_token::rotation::RotationPolicy;
///
/// // Renew a week ahead, and keep a few of LINE's 30 slots for other deployments.
/// let policy = RotationPolicy {
///     renew_before: Duration::from_secs(7 * 86_400),
///     max_active: 20,
///     ..RotationPolicy::default()
/// };
/// assert_eq!(policy.recheck_after, Duration::from_secs(3600));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Issue a successor when the current token has less than this left (default 1 day).
    pub renew_before: Duration,
    /// The active-token limit (LINE's is 30).
    pub max_active: usize,
    /// When the limit is reached by tokens this process cannot revoke, how long before
    /// listing the key ids again (default 1 hour; at least 1 second).
    pub recheck_after: Duration,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        RotationPolicy {
            renew_before: Duration::from_secs(86_400),
            max_active: MAX_ACTIVE_V21,
            recheck_after: Duration::from_secs(3600),
        }
    }
}

/// One step of a rotation, in the order to perform them.
///
/// ```
/// use line_channel_token::rotation::{plan, Reconciliation, RotationPolicy, Step};
/// use line_channel_token::UnixTime;
///
/// // Nothing stored and nothing listed: issue the first token.
/// let steps = plan(&Reconciliation::default(), UnixTime::from_secs(1_000_000), &RotationPolicy::default());
/// assert_eq!(steps, vec![Step::Issue]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Revoke these (by `key_id`, oldest first) before issuing: the limit would be hit.
    RevokeToMakeRoom(Vec<String>),
    /// Issue a new v2.1 token and store its record.
    Issue,
    /// Use this token from now on (the newest live one).
    Use(String),
    /// Once every user has switched to the new token, revoke these older ones.
    RevokeAfterSwitch(Vec<String>),
    /// LINE would refuse an issuance: the limit is reached and not enough of the active
    /// tokens are ours to revoke (key ids with no record). Do not issue; list the key ids
    /// again at this time (unknown tokens expire, or get revoked where they were issued).
    WaitForRoom(UnixTime),
}

/// Plans the next rotation at `now`. A record our clock calls expired is never used, but
/// while LINE lists it, it counts against the limit (and is the first revoked to make room).
/// Never plans an issuance LINE would refuse.
///
/// - No live token, or the newest has less than `renew_before` left: [`Step::Issue`], preceded
///   by [`Step::RevokeToMakeRoom`] if live + unknown tokens already reach the limit, and
///   followed by [`Step::RevokeAfterSwitch`] for every older live token. If the limit is
///   reached and too few of the active tokens are ours to revoke: no issuance, but
///   [`Step::Use`] the newest (if any) and [`Step::WaitForRoom`].
/// - Otherwise [`Step::Use`] the newest, and [`Step::RevokeAfterSwitch`] any older ones (a
///   steady state is the single step `Use`).
///
/// ```
/// use line_channel_token::facts::MAX_ACTIVE_V21;
/// use line_channel_token::rotation::{plan, Reconciliation, RotationPolicy, Step};
/// use line_channel_token::UnixTime;
///
/// // 30 active key ids, none of them ours: issuing would be refused.
/// let r = Reconciliation {
///     unknown_kids: (0..MAX_ACTIVE_V21).map(|i| format!("k{i}")).collect(),
///     ..Reconciliation::default()
/// };
/// let now = UnixTime::from_secs(1_000_000);
/// let policy = RotationPolicy::default();
/// assert_eq!(plan(&r, now, &policy), vec![Step::WaitForRoom(now + policy.recheck_after)]);
/// ```
pub fn plan(r: &Reconciliation, now: UnixTime, policy: &RotationPolicy) -> Vec<Step> {
    // Every record LINE lists counts against its limit, even one our clock already calls
    // expired (LINE's clock decides): those are revoked first, as the oldest.
    let mut listed: Vec<&V21Record> = r.live.iter().collect();
    listed.sort_by_key(|rec| rec.expires_at);
    let mut live: Vec<&V21Record> = listed
        .iter()
        .copied()
        .filter(|rec| rec.expires_at > now)
        .collect();
    let newest = live.last().copied();
    let needs_issue =
        newest.is_none_or(|n| n.expires_at.saturating_duration_since(now) < policy.renew_before);
    let mut steps = Vec::new();
    if needs_issue {
        let active = listed.len().saturating_add(r.unknown_kids.len());
        let excess = active
            .saturating_add(1)
            .saturating_sub(policy.max_active.max(1));
        if excess > listed.len() {
            // Not enough of ours to revoke: LINE would refuse the issuance.
            if let Some(n) = newest {
                steps.push(Step::Use(n.key_id.clone()));
            }
            // At least a second: a zero policy must not have the caller list key ids (an
            // API call) in a busy loop.
            let recheck = policy.recheck_after.max(Duration::from_secs(1));
            steps.push(Step::WaitForRoom(now + recheck));
            return steps;
        }
        if excess > 0 {
            // Oldest (soonest to expire) first; the newest goes last, only if unavoidable.
            let victims: Vec<String> = listed
                .iter()
                .take(excess)
                .map(|rec| rec.key_id.clone())
                .collect();
            live.retain(|rec| !victims.contains(&rec.key_id));
            steps.push(Step::RevokeToMakeRoom(victims));
        }
        steps.push(Step::Issue);
        let old: Vec<String> = live.iter().map(|rec| rec.key_id.clone()).collect();
        if !old.is_empty() {
            steps.push(Step::RevokeAfterSwitch(old));
        }
    } else if let Some(n) = newest {
        let old: Vec<String> = live[..live.len() - 1]
            .iter()
            .map(|rec| rec.key_id.clone())
            .collect();
        steps.push(Step::Use(n.key_id.clone()));
        if !old.is_empty() {
            steps.push(Step::RevokeAfterSwitch(old));
        }
    }
    steps
}
