//! The decision function and the writes that follow it: take the lease, commit a token,
//! release after a failure. All pure: the caller reads and writes the store.

use super::config::StoreConfig;
use super::failure::Failure;
use super::ids::OwnerId;
use super::record::{FailureNote, IssuedEntry, Lease, Record};
use super::write::Write;
use crate::lifecycle::cache::CachedToken;
use crate::lifecycle::policy::{self, capped_expiry, mix};
use crate::protocol::token::IssuedToken;
use crate::time::UnixTime;

/// What to do with the record just read. Every variant is a complete instruction.
///
/// ```
/// # use std::time::Duration;
/// # use line_channel_token::{store::StoreConfig, TokenKind, UnixTime};
/// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))?;
/// # let now = UnixTime::from_secs(1_700_000_000); // the store's time
/// use line_channel_token::store::{decide, Decision, OwnerId, Record};
///
/// let me = OwnerId::new(7);
/// let (record, _repairs) = Record::from_store(0, None, now, &config)?; // the key is absent
/// match decide(&record, now, me, &config) {
///     Decision::Serve(token) => println!("use {:?}", token.access_token),
///     Decision::TakeLease(write) => assert_eq!(write.expected_version(), 0), // swap it in
///     Decision::Refresh { .. } | Decision::ListKeys { .. } => unreachable!("no lease yet"),
///     Decision::Wait(wait) => println!("read again at {}", wait.until),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a decision tells the caller what to do next"]
pub enum Decision<'r> {
    /// Use this token: it has more than the minimum remaining life by the caller's clock.
    Serve(&'r CachedToken),
    /// Nobody holds a live lease and a token is needed: run this compare-and-swap write. If it
    /// applies, read again and decide: the answer is [`Decision::Refresh`] (or, for v2.1,
    /// [`Decision::ListKeys`] or a [`WaitReason::Settling`] wait), unless the lease was lost
    /// meanwhile. If it does not apply, another process was faster: read again.
    TakeLease(Write),
    /// You hold the lease, as a record read just now shows: issue a token now, with an HTTP
    /// timeout ending at [`call_deadline`], then read again and [`Record::commit`], or
    /// [`Record::release`] on failure, on that read and at its time (the call may have taken
    /// most of the lease). Do not call LINE on an older decision: a store that lost your
    /// lease may have let another process take it.
    Refresh {
        /// When the lease runs out, by your clock.
        lease_until: UnixTime,
    },
    /// v2.1, you hold the lease and have not listed under it: the record's count may be short
    /// (the record is new, was wiped or lost writes, or a holder before you may have issued
    /// without committing). List LINE's valid key ids (`KeyIdsV21`) now, read again, run
    /// [`Record::reconcile`]'s write on that read (at its time: the listing may have taken a
    /// while), read again and decide. Finish before `lease_until`.
    ListKeys {
        /// When the lease runs out, by your clock.
        lease_until: UnixTime,
    },
    /// No token can be served now: read the record again at `until` (always later than `now`).
    Wait(Wait),
}

/// A wait, with its reason (so a command line can say why, and pick an exit code).
///
/// ```
/// # use std::time::Duration;
/// # use line_channel_token::{store::StoreConfig, TokenKind, UnixTime};
/// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))?;
/// # let now = UnixTime::from_secs(1_700_000_000); // the store's time
/// use line_channel_token::store::{decide, Decision, OwnerId, Record, WaitReason};
///
/// let (record, _) = Record::from_store(0, None, now, &config)?;
/// let Decision::TakeLease(take) = decide(&record, now, OwnerId::new(1), &config) else { panic!() };
/// // Process 1 holds the lease: process 2 waits for its refresh.
/// let Decision::Wait(wait) = decide(take.record(), now, OwnerId::new(2), &config) else { panic!() };
/// assert!(wait.until > now);
/// assert!(matches!(wait.reason, WaitReason::Refreshing { by, .. } if by == OwnerId::new(1)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Wait {
    /// Read the record again at this time; always later than the `now` decided on.
    pub until: UnixTime,
    /// Why there is no token yet.
    pub reason: WaitReason,
}

/// Why [`Decision::Wait`].
///
/// ```
/// use line_channel_token::store::{Wait, WaitReason};
///
/// // What a command line might say about each.
/// fn why(wait: &Wait) -> String {
///     match &wait.reason {
///         WaitReason::Refreshing { by, .. } => format!("process {by} is refreshing"),
///         WaitReason::Backoff(note) => format!("{} failures in a row; retry at {}", note.count, note.retry_at),
///         WaitReason::Budget { active, .. } => format!("{active} tokens out, the fleet's budget"),
///         _ => "not yet".to_owned(), // Settling, Throttled and any later reason
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitReason {
    /// Another process holds the lease and is refreshing; `until` is the next re-read (the
    /// poll interval) or the lease's end, whichever is first.
    #[non_exhaustive]
    Refreshing {
        /// The holder.
        by: OwnerId,
        /// When its lease ends, as far as this reader trusts it (see [`Lease::expires_at`]):
        /// a process waiting longer than its own patience can say when to try again.
        lease_ends: UnixTime,
    },
    /// The last refresh failed; the fleet backs off until `until`.
    Backoff(FailureNote),
    /// Counted kinds: the fleet already has `active` tokens out, its whole budget; `until` is
    /// when the oldest expires.
    ///
    /// `uncertain` of them are tentative entries of calls that ended without a commit: a
    /// 5xx or no answer (LINE may have issued) or a holder that stopped (a crash, or a
    /// commit the store kept failing). If LINE did not issue them, deleting the record's key
    /// resets the count (v2.1 recounts by listing LINE's key ids; for short-lived tokens the
    /// committed ones are forgotten too). Say so: nothing else ends the wait before `until`.
    #[non_exhaustive]
    Budget {
        /// Tokens issued and not yet expired.
        active: usize,
        /// Of them, counted only because a call that ended without a commit may have issued.
        uncertain: usize,
    },
    /// v2.1: you hold the lease on a record that lost its count (new or wiped); a holder
    /// whose lease was lost with it may still be calling LINE. At `until` its call has ended
    /// and LINE's listing is complete ([`Decision::ListKeys`]).
    Settling,
    /// The last token was issued less than [`StoreConfig::min_issue_interval`] ago: at most
    /// one issuance that often, as `TokenCache` does.
    Throttled,
}

/// Decides what the process `me` does with `record`, read from the store at `now` by its own
/// clock. Pure and cheap (no allocation on a hit): call it after every read.
///
/// In order: a token outside the refresh window is served; a live lease of another process
/// means serve the current token if it is usable, else wait; your own live lease means
/// refresh; a backoff or an exhausted budget means serve the usable token or wait; otherwise
/// take the lease.
///
/// Two rules keep a counted budget from trapping the fleet when LINE (or a gateway in front
/// of it) answers 5xx or times out, each of which is counted as maybe issued:
///
/// - **Spacing.** After such a failure, while the fleet holds a usable token, the next try
///   is no earlier than `max(backoff, usable_left / (slots_left + 1))` after it
///   (`usable_left`: the token's usable time left; `slots_left`: the budget left after
///   counting every entry). The budget then lasts the token's usable life: failing tries
///   come evenly spaced and the last slot goes one gap before the token stops being usable.
/// - **Slack when down.** With no usable token, a budget spent only because of failed calls
///   that may have issued (nobody was handed their tokens: [`IssuedEntry::failed`]) does not
///   stop the fleet while it counts fewer than LINE's own limit for the kind (30): below it
///   LINE revokes (short-lived) or refuses (v2.1) nothing, so no token handed out is lost.
///   The fleet may then have more than the budget out (if those calls did issue), using the
///   room the budget leaves for other tools. Entries of holders that stopped are counted
///   as handed out: a holder whose commit kept failing did hand its token out, and the
///   record cannot tell it from one that died. v2.1's listing replaces failed entries with
///   what LINE holds, so for v2.1 LINE never holds more than the budget.
///
/// ```
/// use std::time::Duration;
/// use line_channel_token::store::{decide, Decision, OwnerId, Record, StoreConfig};
/// use line_channel_token::{IssuedToken, TokenKind, UnixTime};
///
/// let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).unwrap();
/// let me = OwnerId::new(42);
/// let now = UnixTime::from_secs(1_700_000_000);
/// let (record, _) = Record::from_store(0, None, now, &config).unwrap(); // no key yet
/// let Decision::TakeLease(take) = decide(&record, now, me, &config) else { panic!() };
/// // ... the store applied `take` (compare-and-swap on version 0) ...
/// let held = take.into_record();
/// assert!(matches!(decide(&held, now, me, &config), Decision::Refresh { .. }));
/// let issued: IssuedToken = serde_json::from_str(r#"{"access_token":"t0k","expires_in":900}"#).unwrap();
/// let commit = held.commit(now, me, now, &issued, &config).unwrap();
/// // ... the store applied `commit` (compare-and-swap on the lease's version) ...
/// let Decision::Serve(token) = decide(commit.record(), now, me, &config) else { panic!() };
/// assert_eq!(token.access_token.expose_secret(), "t0k");
/// ```
pub fn decide<'r>(
    record: &'r Record,
    now: UnixTime,
    me: OwnerId,
    config: &StoreConfig,
) -> Decision<'r> {
    let usable = record.usable_token(now, config);
    if let Some(token) = usable {
        if now < config.window(token).refresh_at {
            return Decision::Serve(token);
        }
    }
    if let Some(lease) = record.lease.as_ref().filter(|l| l.expires_at > now) {
        if lease.owner == me {
            let settled = lease.taken_at + settle(config);
            if record.uncertain && now < settled {
                return Decision::Wait(Wait {
                    until: settled,
                    reason: WaitReason::Settling,
                });
            }
            return if record.needs_listing() {
                Decision::ListKeys {
                    lease_until: lease.expires_at,
                }
            } else {
                Decision::Refresh {
                    lease_until: lease.expires_at,
                }
            };
        }
        return match usable {
            Some(token) => Decision::Serve(token),
            None => Decision::Wait(Wait {
                until: lease.expires_at.min(now + config.poll_interval()),
                reason: WaitReason::Refreshing {
                    by: lease.owner,
                    lease_ends: lease.expires_at,
                },
            }),
        };
    }
    // A refusal pauses only the credential that got it; retryable failures pause everyone.
    let applies = |f: &FailureNote| {
        f.retryable
            || f.credential.is_none()
            || config.credential().is_none()
            || f.credential == config.credential()
    };
    if let Some(failure) = record
        .failure
        .as_ref()
        .filter(|f| applies(f) && retry_at(record, f, usable, now, config) > now)
    {
        return match usable {
            Some(token) => Decision::Serve(token),
            None => Decision::Wait(Wait {
                until: failure.retry_at,
                reason: WaitReason::Backoff(failure.clone()),
            }),
        };
    }
    if let Some(budget) = config.budget() {
        let count = record.count(now, config);
        // The slack when down (`policy::slack_allows`): with nothing usable, entries of failed
        // calls that may have issued do not stop the fleet below LINE's own limit.
        let slack = usable.is_none()
            && policy::slack_allows(
                count.active,
                count.failed,
                budget,
                config.kind().max_active(),
            );
        if count.active >= budget && !slack {
            return match usable {
                Some(token) => Decision::Serve(token),
                None => Decision::Wait(Wait {
                    until: count.oldest.unwrap_or(now + config.poll_interval()),
                    reason: WaitReason::Budget {
                        active: count.active,
                        uncertain: count.tentative,
                    },
                }),
            };
        }
    }
    let throttle = record.throttle_until(now, config);
    if now < throttle {
        return match usable {
            Some(token) => Decision::Serve(token),
            None => Decision::Wait(Wait {
                until: throttle,
                reason: WaitReason::Throttled,
            }),
        };
    }
    let mut next = record.clone();
    next.sanitize(now, config);
    if usable.is_some() {
        // The token lived to its refresh window: rejections are not in a row.
        next.rejected = None;
    }
    // A record that lost its count (new, wiped) may have lost a lease too, whose holder may
    // still be calling LINE: this lease first lets any such call end, then lists LINE's keys.
    let lease_until = if next.uncertain {
        now + settle(config) + config.lease()
    } else {
        now + config.lease()
    };
    next.lease = Some(Lease {
        owner: me,
        taken_at: now,
        expires_at: lease_until,
        settles: next.uncertain,
        listed: false,
    });
    if config.kind().is_counted() {
        // Counted before LINE is called: a token issued under this lease is in the budget
        // even if this process dies before it commits. It lives at most the lifetime from
        // the lease's end (the call is bounded by the lease).
        next.issued.push(IssuedEntry {
            expires_at: lease_until + config.lifetime(),
            key_id: None,
            tentative: Some(me),
            failed: false,
        });
        next.issued.sort_by_key(|e| e.expires_at);
    }
    Decision::TakeLease(Write::new(next, me, now))
}

/// When the fleet may try again after `failure`: its backoff, and after a failure that may
/// have issued a counted token while `usable` is held, no earlier than the spacing of
/// `policy::spaced_retry` (the budget then lasts the token's usable life).
fn retry_at(
    record: &Record,
    failure: &FailureNote,
    usable: Option<&CachedToken>,
    now: UnixTime,
    config: &StoreConfig,
) -> UnixTime {
    match (usable, config.budget()) {
        (Some(token), Some(budget)) if failure.maybe_issued => policy::spaced_retry(
            failure.at,
            failure.retry_at,
            config.window(token).usable_until,
            budget.saturating_sub(record.count(now, config).active),
        ),
        _ => failure.retry_at,
    }
}

/// How long a call under a lease the record no longer shows may still run.
fn settle(config: &StoreConfig) -> std::time::Duration {
    config
        .lease()
        .saturating_add(config.clock_skew().saturating_mul(2))
}

/// The time by which a holder whose lease ends at `lease_until` must have its answer from
/// LINE: the lease minus twice the clock skew, so that no other process, whatever its
/// clock, takes over while the call may still issue. Give the HTTP client a timeout that ends
/// there; a holder past it does not call LINE and releases with [`Failure::not_sent`].
pub fn call_deadline(lease_until: UnixTime, config: &StoreConfig) -> UnixTime {
    lease_until.saturating_sub(config.clock_skew().saturating_mul(2))
}

impl Record {
    /// After a refresh: the write that stores `token`, issued by a request sent at `sent_at`
    /// (so its expiry errs early). Returns `None` when there is nothing to write.
    ///
    /// - Holding the lease (this is the record your `TakeLease` wrote, or one read since that
    ///   still names you): the token replaces the shared one unless that one expires later,
    ///   the lease is released, and a token that would be due for refresh at once starts a
    ///   backoff, so a short-lived answer cannot make the fleet issue in a loop.
    /// - Not holding it (your write lost the race, or came late): the token is adopted only if
    ///   the record has no usable token and it expires later than the stored one, so a late
    ///   holder never overwrites a newer token. A counted token is added to the issued list
    ///   either way: LINE counts it.
    ///
    /// If the store refuses the write (another version), read again and call `commit` on the
    /// new record: the second call adopts.
    pub fn commit(
        &self,
        now: UnixTime,
        me: OwnerId,
        sent_at: UnixTime,
        token: &IssuedToken,
        config: &StoreConfig,
    ) -> Option<Write> {
        let mut next = self.clone();
        next.sanitize(now, config);
        let stored = CachedToken {
            access_token: token.access_token.clone(),
            issued_at: sent_at,
            // The cache's rule: an answer claiming longer than LINE issues is capped.
            expires_at: capped_expiry(config.kind(), sent_at, token.lifetime()),
            key_id: token.key_id.clone(),
        };
        let mut changed = false;
        if config.kind().is_counted() {
            let entry = IssuedEntry {
                expires_at: stored.expires_at,
                key_id: stored.key_id.clone(),
                tentative: None,
                failed: false,
            };
            // The real entry replaces this process's latest tentative one (an earlier one
            // may count a token of an ambiguous failure).
            changed |= next.drop_tentative(me);
            let skew = config.clock_skew().saturating_mul(2);
            if stored.expires_at + skew > now && !next.issued.contains(&entry) {
                next.issued.push(entry);
                next.issued.sort_by_key(|e| e.expires_at);
                changed = true;
            }
        }
        let well_formed =
            !stored.access_token.expose_secret().is_empty() && stored.expires_at > stored.issued_at;
        let later = next
            .token
            .as_ref()
            .is_none_or(|t| stored.expires_at > t.expires_at);
        let holder = next.lease.as_ref().is_some_and(|l| l.owner == me);
        if holder {
            next.lease = None;
            if well_formed && later {
                next.token = Some(stored.clone());
            }
            let fresh = next
                .usable_token(now, config)
                .is_some_and(|t| now < config.window(t).refresh_at);
            next.failure = if fresh {
                None
            } else {
                Some(failure_note(&next, now, Failure::not_sent(), config))
            };
            return Some(Write::new(next, me, now));
        }
        if well_formed && later && next.usable_token(now, config).is_none() {
            next.token = Some(stored);
            changed = true;
        }
        changed.then(|| Write::new(next, me, now))
    }

    /// After a failed refresh: the write that releases your lease and starts the fleet's
    /// backoff (1 s doubling to the cap for retryable failures, the failure pause for
    /// refusals). `None` if the lease is no longer yours: whoever holds it now is trying.
    ///
    /// A failure that may have issued ([`Failure::maybe_issued`]) keeps the lease's entry,
    /// marked [`IssuedEntry::failed`]: no caller was handed a token from this call, so with
    /// no usable token the fleet may issue past it (see [`decide`]). Release only when that
    /// is true; a token you got and handed out is committed, never released.
    pub fn release(
        &self,
        now: UnixTime,
        me: OwnerId,
        failure: Failure,
        config: &StoreConfig,
    ) -> Option<Write> {
        let mut next = self.held_copy(now, me, config)?;
        next.lease = None;
        if failure.maybe_issued {
            next.mark_failed(me);
        } else {
            next.drop_tentative(me);
        }
        next.failure = Some(failure_note(&next, now, failure, config));
        Some(Write::new(next, me, now))
    }
}

fn failure_note(
    record: &Record,
    now: UnixTime,
    failure: Failure,
    config: &StoreConfig,
) -> FailureNote {
    let count = record
        .failure
        .as_ref()
        .map_or(1, |f| f.count.saturating_add(1));
    FailureNote {
        count,
        at: now,
        retry_at: now
            + config.backoff(
                count,
                failure.retryable,
                mix(now.as_millis() ^ count as u64),
            ),
        retryable: failure.retryable,
        status: failure.status,
        credential: if failure.retryable {
            None
        } else {
            config.credential()
        },
        maybe_issued: failure.maybe_issued,
    }
}
