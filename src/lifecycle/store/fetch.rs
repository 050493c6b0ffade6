//! One fetch through a store, as a state machine: it says what to do next ([`Step`]) and the
//! caller answers ([`Input`]). [`super::drive`] and [`super::drive_async`] run it; a caller
//! with another executor runs the same loop.

use std::time::Duration;

use super::config::StoreConfig;
use super::decide::{call_deadline, decide, Decision, Wait, WaitReason};
use super::failure::Failure;
use super::ids::OwnerId;
use super::patience::Patience;
use super::read::Read;
use super::record::{Record, RecordError};
use super::write::Write;
use crate::lifecycle::cache::CachedToken;
use crate::protocol::token::IssuedToken;
use crate::time::UnixTime;

/// What the fetch needs next.
///
/// ```
/// use std::time::Duration;
/// use line_channel_token::store::{Body, Fetch, Input, OwnerId, Read, Step};
/// # use line_channel_token::{store::StoreConfig, TokenKind, UnixTime};
/// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))?;
/// # let now = UnixTime::from_secs(1_700_000_000);
/// let (mut fetch, step) = Fetch::new(&config, OwnerId::new(7), Duration::ZERO);
/// assert_eq!(step, Step::Read); // always first
/// let absent = Read { now, version: 0, body: Body::Absent }; // `now`: the store's time
/// let Step::Swap(take) = fetch.next(Input::Read(absent, now)) else { panic!() };
/// assert_eq!(take.expected_version(), 0); // take the lease: create the key
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a step tells the caller what to do next"]
pub enum Step {
    /// Read the store and answer [`Input::Read`] (or [`Input::StoreFailed`]).
    Read,
    /// Run this compare-and-swap (with [`Write::keep_for`] as the key's expiry) and answer
    /// [`Input::Swapped`] (or [`Input::StoreFailed`]).
    Swap(Write),
    /// Issue a token now, with an HTTP timeout of at most `timeout`, and answer
    /// [`Input::Issued`] or [`Input::IssueFailed`].
    Issue {
        /// The call must be over by then: the lease ends soon after.
        timeout: Duration,
    },
    /// v2.1: list LINE's valid key ids (`KeyIdsV21`) with at most `timeout`, and answer
    /// [`Input::Listed`] or [`Input::IssueFailed`].
    ListKeys {
        /// The call must be over by then.
        timeout: Duration,
    },
    /// Sleep this long, then answer [`Input::Waited`].
    Sleep(Duration),
    /// The fetch is over.
    Done(Outcome),
}

/// The caller's answer to the last [`Step`].
///
/// ```
/// use std::time::Duration;
/// use line_channel_token::store::{Fetch, Input, Outcome, OwnerId, Step};
/// # use line_channel_token::{store::StoreConfig, TokenKind, UnixTime};
/// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))?;
/// let (mut fetch, _read) = Fetch::new(&config, OwnerId::new(7), Duration::ZERO);
/// // The store could not be reached: the fetch ends, and says so.
/// assert_eq!(fetch.next(Input::StoreFailed), Step::Done(Outcome::StoreFailed));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The store read, and this machine's clock when the answer came (to report a clock that
    /// is off, and to bound the wait on it too: decisions use the store's time).
    Read(Read, UnixTime),
    /// Whether the compare-and-swap applied.
    Swapped(bool),
    /// The store failed or could not be reached.
    StoreFailed,
    /// LINE issued this token.
    Issued(IssuedToken),
    /// LINE's key ids.
    Listed(Vec<String>),
    /// The call to LINE failed.
    IssueFailed(Failure),
    /// The sleep is over.
    Waited,
}

/// How a fetch ended.
///
/// ```
/// use line_channel_token::store::Outcome;
/// fn report(outcome: Outcome) -> Result<String, String> {
///     match outcome {
///         Outcome::Token { token, .. } => Ok(token.access_token.expose_secret().to_owned()),
///         Outcome::Wait(wait) => Err(format!("no token before {}", wait.until)),
///         Outcome::Refused(e) => Err(e.to_string()), // a person must look at the key
///         other => Err(format!("{other:?}")),      // the store or LINE failed
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A token to use. `committed` is false when this process issued it and the store
    /// failed before it was recorded: use it all the same (it is valid) and say so.
    Token {
        /// The token.
        token: CachedToken,
        /// Whether the store holds it (false: this process issued it and could not record it).
        committed: bool,
    },
    /// No token now: the fleet waits (another process refreshes, a backoff, the budget)
    /// longer than the fetch may.
    Wait(Wait),
    /// The store failed; nothing was issued that is not counted.
    StoreFailed,
    /// This process's call to LINE failed.
    IssueFailed(Failure),
    /// The record is not this fleet's, too large, unreadable or of another format: a person
    /// must look at the key (it is left as is).
    Refused(RecordError),
    /// The store did not keep this process's writes (this many in a row were gone at the
    /// next read) until the wait limit: its key is evicted, or a failover drops writes.
    WritesLost(u32),
    /// The token LINE issued this process had expired (or was empty) when the store was read
    /// after the call: the call took longer than the token lives. Retryable.
    IssuedExpired,
}

/// What the fetch noticed on the way that the caller should report.
///
/// ```
/// use std::time::Duration;
/// use line_channel_token::store::{Body, Fetch, Input, OwnerId, Read};
/// # use line_channel_token::{store::StoreConfig, TokenKind, UnixTime};
/// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))?;
/// # let store_time = UnixTime::from_secs(1_700_000_000);
/// let (mut fetch, _read) = Fetch::new(&config, OwnerId::new(7), Duration::ZERO);
/// let read = Read { now: store_time, version: 0, body: Body::Absent };
/// let local = store_time + Duration::from_secs(60); // this machine's clock: a minute ahead
/// let _take_lease = fetch.next(Input::Read(read, local)); // decided at the store's time
/// if let Some(ms) = fetch.events().clock_off_ms {
///     eprintln!("this machine's clock is {ms} ms off the store's");
/// }
/// # assert_eq!(fetch.events().clock_off_ms, Some(60_000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Events {
    /// This machine's clock was this far from the store's, beyond the tolerated skew
    /// (positive: ahead). Decisions used the store's time; report it once.
    pub clock_off_ms: Option<i64>,
    /// A commit failed and was retried.
    pub commit_retries: u32,
    /// The store's clock was this far behind the latest time its record records (a clock
    /// stepped back, a failover to a host whose clock is behind): decisions used the
    /// record's time instead, as far as this machine's clock allows. Report it once.
    pub store_clock_back_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Waiting for a read, to decide on.
    Deciding,
    /// Waiting for a read after winning the lease or a reconcile: decide again, then call.
    Confirming,
    /// Waiting for the lease's compare-and-swap.
    Taking(Write),
    /// Waiting for LINE's key ids.
    Listing,
    /// Waiting for a read after LINE listed these key ids: reconcile on it.
    ReadToReconcile(Vec<String>),
    /// Waiting for a reconcile's compare-and-swap.
    Reconciling(Write),
    /// Waiting for LINE's answer; the request was sent at this store time.
    Issuing { sent_at: UnixTime },
    /// Waiting for a read after LINE's call failed: release, and judge the shared token, at
    /// that read's time (the call may have taken most of the lease).
    ReadToRelease(Failure),
    /// Waiting for a read to commit `token` on.
    ReadToCommit(IssuedToken, UnixTime),
    /// Waiting for a commit's compare-and-swap.
    Committing(Write, IssuedToken, UnixTime),
    /// Waiting for a release's compare-and-swap; then end with this.
    Releasing(Outcome),
    /// Sleeping.
    Sleeping,
    /// Over.
    Done,
}

/// Store failures a commit survives before the fetch hands the token over uncommitted.
const COMMIT_TRIES: u32 = 3;

/// One fetch through a store, sans IO. Start with [`Fetch::new`] (whose first step is always
/// [`Step::Read`]), then feed each step's answer to [`Fetch::next`] until [`Step::Done`].
///
/// The loop any executor runs ([`super::drive`] is this, with errors kept):
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use line_channel_token::store::{Fetch, Input, MemoryStore, Outcome, OwnerId, Refresher, Step, Store};
/// use line_channel_token::UnixTime;
/// # use line_channel_token::{store::StoreConfig, TokenKind};
/// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))?;
/// # struct Line; // LINE, issuing on every call
/// # impl Refresher for Line {
/// #     type Error = ();
/// #     fn issue(&mut self, _: Duration) -> Result<line_channel_token::IssuedToken, (line_channel_token::store::Failure, ())> {
/// #         Ok(serde_json::from_str(r#"{"access_token":"t0k","expires_in":900}"#).unwrap())
/// #     }
/// #     fn key_ids(&mut self, _: Duration) -> Result<Vec<String>, (line_channel_token::store::Failure, ())> { Ok(vec![]) }
/// # }
/// let local_clock = || UnixTime::from(SystemTime::now());
/// let mut store = MemoryStore::new(local_clock); // or your adapter
/// let (mut fetch, mut step) = Fetch::new(&config, OwnerId::new(7), Duration::from_secs(2));
/// let outcome = loop {
///     let input = match step {
///         Step::Read => store.read().map_or(Input::StoreFailed, |r| Input::Read(r, local_clock())),
///         Step::Swap(write) => store.swap(&write).map_or(Input::StoreFailed, Input::Swapped),
///         Step::Issue { timeout } => Line.issue(timeout).map_or_else(|(f, _)| Input::IssueFailed(f), Input::Issued),
///         Step::ListKeys { timeout } => Line.key_ids(timeout).map_or_else(|(f, _)| Input::IssueFailed(f), Input::Listed),
///         Step::Sleep(d) => { std::thread::sleep(d); Input::Waited }
///         Step::Done(outcome) => break outcome,
///     };
///     step = fetch.next(input);
/// };
/// assert!(matches!(outcome, Outcome::Token { committed: true, .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Fetch<'c> {
    config: &'c StoreConfig,
    me: OwnerId,
    patience: Patience,
    now: UnixTime,
    state: State,
    events: Events,
}

impl<'c> Fetch<'c> {
    /// A fetch by `me` that sits out another process's refresh or a backoff for at most
    /// `max_wait` (by the store's clock and by this machine's), then reports the wait
    /// instead. Returns the fetch and its first step.
    pub fn new(config: &'c StoreConfig, me: OwnerId, max_wait: Duration) -> (Fetch<'c>, Step) {
        let fetch = Fetch {
            config,
            me,
            patience: Patience::new(max_wait),
            now: UnixTime::EPOCH,
            state: State::Deciding,
            events: Events::default(),
        };
        (fetch, Step::Read)
    }

    /// What the fetch noticed so far.
    pub fn events(&self) -> Events {
        self.events
    }

    /// Feeds the answer to the last step and returns the next one. An answer that does not
    /// fit the last step ends the fetch with [`Outcome::StoreFailed`].
    pub fn next(&mut self, input: Input) -> Step {
        let state = std::mem::replace(&mut self.state, State::Done);
        if let (
            State::Taking(w) | State::Reconciling(w) | State::Committing(w, ..),
            Input::Swapped(applied),
        ) = (&state, &input)
        {
            self.patience.swapped(w, *applied);
        }
        match (state, input) {
            (State::Deciding | State::Sleeping, Input::Waited) => self.read(State::Deciding),
            (State::Deciding, Input::Read(read, local)) => match self.record(read, local) {
                Ok(record) => self.decided(&record, false),
                Err(e) => self.done(Outcome::Refused(e)),
            },
            (State::Confirming, Input::Read(read, local)) => match self.record(read, local) {
                Ok(record) => self.decided(&record, true),
                Err(e) => self.done(Outcome::Refused(e)),
            },
            (State::Taking(_), Input::Swapped(true)) => self.read(State::Confirming),
            (State::Taking(_), Input::Swapped(false)) => self.read(State::Deciding),
            // After every call to LINE, read again: the call may have taken most of the
            // lease, and what follows is judged and dated at the store's time after it.
            (State::Listing, Input::Listed(kids)) => self.read(State::ReadToReconcile(kids)),
            (State::ReadToReconcile(kids), Input::Read(read, local)) => {
                match self.record(read, local) {
                    Ok(record) => match record.reconcile(self.now, self.me, &kids, self.config) {
                        Some(w) => self.swap(w.clone(), State::Reconciling(w)),
                        None => self.decided(&record, false),
                    },
                    Err(e) => self.done(Outcome::Refused(e)),
                }
            }
            (State::Reconciling(_), Input::Swapped(applied)) => self.read(if applied {
                State::Confirming
            } else {
                State::Deciding
            }),
            (State::Issuing { sent_at }, Input::Issued(token)) => {
                self.read(State::ReadToCommit(token, sent_at))
            }
            (State::Issuing { .. }, Input::IssueFailed(f)) => self.read(State::ReadToRelease(f)),
            // A listing issues nothing, whatever its failure: the tentative entry goes.
            (State::Listing, Input::IssueFailed(f)) => self.read(State::ReadToRelease(Failure {
                maybe_issued: false,
                ..f
            })),
            (State::ReadToRelease(f), Input::Read(read, local)) => {
                let record = match self.record(read, local) {
                    Ok(r) => r,
                    Err(e) => return self.done(Outcome::Refused(e)),
                };
                let outcome = match record.usable_token(self.now, self.config) {
                    Some(t) => Outcome::Token {
                        token: t.clone(),
                        committed: true,
                    },
                    None => Outcome::IssueFailed(f),
                };
                match record.release(self.now, self.me, f, self.config) {
                    Some(w) => self.swap(w, State::Releasing(outcome)),
                    None => self.done(outcome),
                }
            }
            // No store time to judge the shared token by: report the call's failure.
            (State::ReadToRelease(f), Input::StoreFailed) => self.done(Outcome::IssueFailed(f)),
            (State::ReadToCommit(token, sent_at), Input::Read(read, local)) => {
                let record = match self.record(read, local) {
                    // A store that does not keep writes: hand the token over uncommitted.
                    Ok(r) if self.patience.losing_writes().is_none() => r,
                    // A foreign record now: do not write into it, hand the token over.
                    _ => return self.own(&token, sent_at, false),
                };
                match record.commit(self.now, self.me, sent_at, &token, self.config) {
                    Some(w) => self.swap(w.clone(), State::Committing(w, token, sent_at)),
                    None => self.served_after_commit(&record, &token, sent_at),
                }
            }
            (State::Committing(w, token, sent_at), Input::Swapped(true)) => {
                self.served_after_commit(w.record(), &token, sent_at)
            }
            (State::Committing(_, token, sent_at), Input::Swapped(false)) => {
                self.read(State::ReadToCommit(token, sent_at))
            }
            (
                State::ReadToCommit(token, sent_at) | State::Committing(_, token, sent_at),
                Input::StoreFailed,
            ) => {
                self.events.commit_retries += 1;
                if self.events.commit_retries >= COMMIT_TRIES {
                    return self.own(&token, sent_at, false);
                }
                self.read(State::ReadToCommit(token, sent_at))
            }
            (State::Releasing(outcome), Input::Swapped(_) | Input::StoreFailed) => {
                self.done(outcome)
            }
            _ => self.done(Outcome::StoreFailed),
        }
    }

    fn record(&mut self, read: Read, local: UnixTime) -> Result<Record, RecordError> {
        let (record, now) = self
            .patience
            .take_in(read, local, self.config, &mut self.events)?;
        self.now = now;
        Ok(record)
    }

    fn decided(&mut self, record: &Record, confirming: bool) -> Step {
        match decide(record, self.now, self.me, self.config) {
            Decision::Serve(token) => self.done(Outcome::Token {
                token: token.clone(),
                committed: true,
            }),
            // Writing again at once to a store that loses writes would spin: poll instead.
            Decision::TakeLease(_) | Decision::ListKeys { .. }
                if self.patience.losing_writes().is_some() =>
            {
                let lost = self.patience.losing_writes().unwrap_or_default();
                if self.patience.give_up(self.now) <= self.now {
                    return self.done(Outcome::WritesLost(lost));
                }
                self.patience.pause();
                self.state = State::Sleeping;
                Step::Sleep(self.config.poll_interval())
            }
            Decision::TakeLease(w) => self.swap(w.clone(), State::Taking(w)),
            Decision::Wait(wait) => {
                let give_up = self.patience.give_up(self.now);
                let bound = match wait.reason {
                    WaitReason::Refreshing { .. }
                    | WaitReason::Settling
                    | WaitReason::Throttled => give_up,
                    _ => give_up.min(self.now + SHORT_BACKOFF),
                };
                if wait.until > bound {
                    return self.done(Outcome::Wait(wait));
                }
                self.state = State::Sleeping;
                Step::Sleep(wait.until - self.now)
            }
            Decision::ListKeys { lease_until } => {
                self.state = State::Listing;
                Step::ListKeys {
                    timeout: call_deadline(lease_until, self.config) - self.now,
                }
            }
            Decision::Refresh { lease_until } if confirming => {
                let deadline = call_deadline(lease_until, self.config);
                if deadline <= self.now {
                    return match record.release(self.now, self.me, Failure::not_sent(), self.config)
                    {
                        Some(w) => self.swap(
                            w,
                            State::Releasing(Outcome::IssueFailed(Failure::not_sent())),
                        ),
                        None => self.read(State::Deciding),
                    };
                }
                self.state = State::Issuing { sent_at: self.now };
                Step::Issue {
                    timeout: deadline - self.now,
                }
            }
            // Holding a lease from an earlier step: read again, then call at once.
            Decision::Refresh { .. } => self.read(State::Confirming),
        }
    }

    fn served_after_commit(
        &mut self,
        record: &Record,
        token: &IssuedToken,
        sent: UnixTime,
    ) -> Step {
        match decide(record, self.now, self.me, self.config) {
            Decision::Serve(t) => self.done(Outcome::Token {
                token: t.clone(),
                committed: true,
            }),
            // Recorded, but too short-lived for the fleet to serve: this run may still use it.
            _ => self.own(token, sent, true),
        }
    }

    fn own(&mut self, token: &IssuedToken, sent_at: UnixTime, committed: bool) -> Step {
        let owned = super::ended::own(self.config, token, sent_at, self.now, committed);
        self.done(owned)
    }

    fn read(&mut self, then: State) -> Step {
        self.state = then;
        Step::Read
    }

    fn swap(&mut self, write: Write, then: State) -> Step {
        self.state = then;
        Step::Swap(write)
    }

    fn done(&mut self, outcome: Outcome) -> Step {
        self.state = State::Done;
        Step::Done(outcome)
    }
}

/// A fleet backoff this short is waited out; a longer one is reported to the caller.
const SHORT_BACKOFF: Duration = Duration::from_secs(5);
