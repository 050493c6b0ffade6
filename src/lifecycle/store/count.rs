//! The count of tokens a counted kind has out, kept right: tentative entries, LINE's own
//! listing (v2.1), and a fleet-wide invalidation.

use super::config::StoreConfig;
use super::ids::OwnerId;
use super::record::{IssuedEntry, Record, MAX_ISSUED};
use super::write::Write;
use crate::facts::TokenKind;
use crate::lifecycle::policy;
use crate::secret::AccessToken;
use crate::time::UnixTime;

impl Record {
    /// After the Messaging API refused the shared token (HTTP 401): the write that drops it,
    /// so the fleet refreshes once. `None` if the record no longer holds `token` (another
    /// process already dropped or replaced it): the fleet drops a token once, not once per
    /// process. A counted token stays in the budget.
    pub fn invalidate(
        &self,
        now: UnixTime,
        me: OwnerId,
        token: &AccessToken,
        config: &StoreConfig,
    ) -> Option<Write> {
        let current = self.token.as_ref()?;
        if current.access_token.expose_secret() != token.expose_secret() {
            return None;
        }
        let mut next = self.clone();
        next.sanitize(now, config);
        // The token is gone, and with it the issuance the throttle counts from: kept here,
        // with the backoff of rejections in a row (`TokenCache::invalidate`'s rule).
        let count = next
            .rejected
            .as_deref()
            .map_or(1, |r| r.count.saturating_add(1));
        let last_issue = next
            .rejected
            .as_deref()
            .map_or(current.issued_at, |r| r.last_issue.max(current.issued_at));
        next.rejected = Some(Box::new(Rejections {
            count,
            last_issue,
            retry_at: policy::after_rejections(
                Some(last_issue),
                count,
                config.backoff_base,
                config.backoff_cap,
                std::time::Duration::ZERO,
            ),
        }));
        // The refused token leaves the count too: LINE counts only the tokens it honours, and
        // one it answers 401 for is not one (v2.1: the next listing recounts what LINE holds).
        // Kept counted, a channel whose every token is refused would spend a short-lived
        // budget in minutes and then wait out its 30 days even once the cause is mended.
        if let Some(t) = next.token.take() {
            if let Some(i) = next.issued.iter().position(|e| {
                e.tentative.is_none() && e.expires_at == t.expires_at && e.key_id == t.key_id
            }) {
                next.issued.remove(i);
            }
        }
        Some(Write::new(next, me, now))
    }

    /// The issuance throttle, as `TokenCache`'s: counted from the stored token's issuance,
    /// or after tokens rejected in a row ([`Record::invalidate`]), spaced as the cache spaces
    /// them: the first rejection's refresh at once, then backing off to about one a minute.
    pub(crate) fn throttle_until(&self, now: UnixTime, config: &StoreConfig) -> UnixTime {
        match (&self.token, self.rejected.as_deref()) {
            (None, Some(r)) if r.count <= 1 => UnixTime::EPOCH,
            (None, Some(r)) => r.retry_at.max(policy::throttle_until(
                policy::last_issue(Some(r.last_issue), now),
                config.min_issue_interval(),
            )),
            (token, _) => policy::throttle_until(
                policy::last_issue(token.as_ref().map(|t| t.issued_at), now),
                config.min_issue_interval(),
            ),
        }
    }

    /// v2.1, after [`Decision::ListKeys`](super::Decision::ListKeys): the write that replaces the record's count with
    /// LINE's own, `key_ids` being the `kids` of `KeyIdsV21` listed at `now`. A listed token
    /// the record knows keeps its expiry; one it does not know is counted for the fleet's
    /// lifetime from `now`; entries LINE no longer lists and other processes' tentative
    /// entries (their leases are over: their calls ended) are dropped. If LINE holds the
    /// whole budget already, the lease is released in the same write, without issuing.
    /// `None` if the lease is no longer yours.
    pub fn reconcile(
        &self,
        now: UnixTime,
        me: OwnerId,
        key_ids: &[String],
        config: &StoreConfig,
    ) -> Option<Write> {
        let mut next = self.held_copy(now, me, config)?;
        let mine: Vec<IssuedEntry> = next
            .issued
            .iter()
            .filter(|e| e.tentative == Some(me) && !e.failed)
            .cloned()
            .collect();
        let mut listed: Vec<IssuedEntry> = key_ids
            .iter()
            .take(MAX_ISSUED)
            .map(|kid| {
                let known = next
                    .issued
                    .iter()
                    .find(|e| e.tentative.is_none() && e.key_id.as_deref() == Some(kid.as_str()));
                IssuedEntry {
                    expires_at: known.map_or(now + config.lifetime(), |e| e.expires_at),
                    key_id: Some(kid.clone()),
                    tentative: None,
                    failed: false,
                }
            })
            .collect();
        listed.sort_by_key(|e| e.expires_at);
        listed.dedup();
        next.uncertain = false;
        let budget = config.budget().unwrap_or(usize::MAX);
        if listed.len() >= budget {
            next.lease = None;
            next.issued = listed;
        } else {
            next.issued = listed;
            next.issued.extend(mine);
            next.issued.sort_by_key(|e| e.expires_at);
            if let Some(lease) = &mut next.lease {
                lease.listed = true;
            }
        }
        Some(Write::new(next, me, now))
    }

    /// Drops `me`'s latest tentative entry (the current lease's); true if there was one.
    pub(crate) fn drop_tentative(&mut self, me: OwnerId) -> bool {
        let latest = self.latest_tentative(me);
        latest.map(|i| self.issued.remove(i)).is_some()
    }

    /// Marks `me`'s latest tentative entry (the current lease's) as a failed call that may
    /// have issued: nobody was handed its token.
    pub(crate) fn mark_failed(&mut self, me: OwnerId) {
        if let Some(i) = self.latest_tentative(me) {
            self.issued[i].failed = true;
        }
    }

    fn latest_tentative(&self, me: OwnerId) -> Option<usize> {
        self.issued
            .iter()
            .enumerate()
            .filter(|(_, e)| e.tentative == Some(me) && !e.failed)
            .max_by_key(|(_, e)| e.expires_at)
            .map(|(i, _)| i)
    }

    /// The budget as it stands at `now`: every entry not yet expired (allowing for the skew),
    /// how many of them are tentative, and how many of those are failed calls.
    pub(crate) fn count(&self, now: UnixTime, config: &StoreConfig) -> Count {
        let skew = config.clock_skew().saturating_mul(2);
        let mut count = Count::default();
        for e in self.issued.iter().filter(|e| e.expires_at + skew > now) {
            count.active += 1;
            if e.tentative.is_some() {
                count.tentative += 1;
                count.failed += usize::from(e.failed);
            }
            if count.oldest.is_none() {
                count.oldest = Some(e.expires_at + skew);
            }
        }
        count
    }

    /// v2.1: whether the count may be short and the holder must list LINE's key ids first.
    ///
    /// Every v2.1 lease lists once before it issues: a listing is one cheap call per refresh,
    /// and it also catches what a failover to a lagging replica lost, which the record
    /// cannot tell.
    pub(crate) fn needs_listing(&self) -> bool {
        self.kind == TokenKind::V21 && self.lease.as_ref().is_some_and(|l| !l.listed)
    }
}

/// Shared tokens [`Record::invalidate`] dropped in a row (none of them lived to its refresh
/// window: a lease taken to refresh a usable token ends the row), and the latest issuance
/// among them. [`decide`](super::decide) spaces issuances after them by the rule the cache
/// follows (`policy::after_rejections`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) struct Rejections {
    /// Tokens dropped in a row.
    pub(crate) count: u32,
    /// When the last of them was issued (its request was sent), by the store's clock.
    pub(crate) last_issue: UnixTime,
    /// From the second in a row: no issuance before this (the throttle applies too).
    pub(crate) retry_at: UnixTime,
}

/// The budget as [`Record::count`] sees it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Count {
    /// Entries not yet expired: tokens the fleet has out, or may have.
    pub(crate) active: usize,
    /// Of them, tentative: calls that have not committed (running, failed, or stopped).
    pub(crate) tentative: usize,
    /// Of those, failed calls that may have issued: no caller was handed their tokens.
    pub(crate) failed: usize,
    /// When the oldest entry stops counting.
    pub(crate) oldest: Option<UnixTime>,
}
