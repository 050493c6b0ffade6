//! One process's steps: what each process does next from where it is (reading, taking the
//! lease, calling LINE, committing, serving), through the library's own [`Fetch`] for a new
//! fetch's first decision.

use super::*;

impl State {
    /// Process `p` takes one step. `line` picks LINE's answer when it calls LINE. Returns
    /// the new state and whether the step served a token.
    pub(super) fn step(
        &self,
        p: usize,
        line: Line,
        config: &StoreConfig,
    ) -> Result<Option<(State, bool)>, String> {
        let mut s = self.clone();
        let now = self.now(p);
        let me = self.me(p);
        let mut served = false;
        let next = match &self.procs[p].pc {
            Pc::Idle { until } => {
                if until.is_some_and(|u| now < u) {
                    return Ok(None);
                }
                self.fetch_read(p, config, &mut served)?
            }
            Pc::Taking(w) => {
                if s.cas(w, config, false)? {
                    // Usually Refresh; a write applied after its lease ran out decides anew.
                    self.follow(w.record(), now, me, config, &mut served)?
                } else {
                    Pc::Idle { until: None }
                }
            }
            Pc::Listing(held) => {
                // LINE lists the key ids of its live tokens, as of now.
                let kids: Vec<String> = self.live().map(|(id, _)| format!("k{id}")).collect();
                match held.reconcile(now, me, &kids, config) {
                    Some(w) => Pc::Reconciling(w),
                    None => return Err("a holder could not reconcile".into()),
                }
            }
            Pc::Reconciling(w) => {
                if s.cas(w, config, false)? {
                    self.follow(w.record(), now, me, config, &mut served)?
                } else {
                    Pc::Idle { until: None }
                }
            }
            Pc::Refreshing => {
                let held = self.read(p, config);
                let lease_until = match decide(&held, now, me, config) {
                    Decision::Refresh { lease_until } => lease_until,
                    // The lease was lost (wiped, failed over, taken over) or is not needed.
                    _ => {
                        let next = self.follow(&held, now, me, config, &mut served)?;
                        s.procs[p].pc = next;
                        return Ok(Some((s, served)));
                    }
                };
                if now >= call_deadline(lease_until, config) {
                    // Too late to call LINE within the lease: give it back, nothing sent.
                    match held.release(now, me, Failure::not_sent(), config) {
                        Some(w) => Pc::Releasing(w),
                        None => return Err("a holder could not release".into()),
                    }
                } else if line == Line::Issues {
                    let id = s.tokens.len() as u32;
                    s.tokens.push((self.time + LIFETIME, me));
                    match held.commit(now, me, now, &issued(id), config) {
                        Some(write) => Pc::Committing {
                            write,
                            id,
                            sent_at: now,
                            holder: true,
                        },
                        None => return Err("a holder's commit wrote nothing".into()),
                    }
                } else {
                    if s.failures >= MAX_FAILURES {
                        return Ok(None);
                    }
                    s.failures += 1;
                    if line == Line::Ambiguous {
                        // A gateway's 5xx or a timeout, but LINE issued.
                        s.tokens.push((self.time + LIFETIME, me));
                    }
                    // The answer arrives in a later step, however late.
                    Pc::Failed(line)
                }
            }
            Pc::Failed(line) => {
                let failure = match line {
                    Line::Ambiguous => Failure::answered(502),
                    _ => Failure::answered(429),
                };
                // As `Fetch` does: read again, judge and date at that read's time.
                let record = self.read(p, config);
                if let Some(t) = record.usable_token(now, config) {
                    s.check_served(t.access_token.expose_secret())?;
                    served = true;
                }
                match record.release(now, me, failure, config) {
                    Some(w) => Pc::Releasing(w),
                    None => Pc::Idle { until: None },
                }
            }
            Pc::Committing {
                write,
                id,
                sent_at,
                holder,
            } => {
                if s.cas(write, config, *holder)? {
                    // The token just written, or adopted, or our own still-valid one.
                    let record = write.record();
                    if let Decision::Serve(t) = decide(record, now, me, config) {
                        s.check_served(t.access_token.expose_secret())?;
                        served = true;
                    }
                    Pc::Idle { until: None }
                } else {
                    Pc::Recommit {
                        id: *id,
                        sent_at: *sent_at,
                    }
                }
            }
            Pc::Recommit { id, sent_at } => {
                let record = self.read(p, config);
                let holder = record.lease().is_some_and(|l| l.owner == me);
                match record.commit(now, me, *sent_at, &issued(*id), config) {
                    Some(write) => Pc::Committing {
                        write,
                        id: *id,
                        sent_at: *sent_at,
                        holder,
                    },
                    None => Pc::Idle { until: None },
                }
            }
            Pc::Releasing(w) => {
                s.cas(w, config, false)?;
                Pc::Idle { until: None }
            }
        };
        // A fetch that took a lease ends here: the next one draws a new owner id, so a lease
        // of this one that a failover brings back is not mistaken for the next one's.
        let ended = matches!(
            self.procs[p].pc,
            Pc::Committing { .. } | Pc::Recommit { .. } | Pc::Failed(_) | Pc::Releasing(_)
        );
        if ended && matches!(next, Pc::Idle { .. }) {
            s.procs[p].incarnation += 1;
        }
        s.procs[p].pc = next;
        Ok(Some((s, served)))
    }

    /// A new fetch's first read and decision, through the library's own [`Fetch`]: it is
    /// given the store's time and the machine's clock, as `store::drive` gives them. The
    /// invariants hold only if it decides on the store's time; and a machine beyond the
    /// tolerance must be reported (and one within it must not).
    fn fetch_read(&self, p: usize, config: &StoreConfig, served: &mut bool) -> Result<Pc, String> {
        thread_local! {
            /// A fetch's first step is pure: remember it.
            static FIRST: std::cell::RefCell<HashMap<FetchKey, (Step, Events)>> = Default::default();
        }
        let (now, me) = (self.now(p), self.me(p));
        let read = Read {
            now,
            version: self.version,
            body: match &self.body {
                Some(b) => Body::Present(b.clone().into_bytes()),
                None => Body::Absent,
            },
        };
        let key = ((self.version, self.body.clone(), now), self.machine(p), me);
        let (step, events) = FIRST.with(|f| {
            f.borrow_mut()
                .entry(key)
                .or_insert_with(|| {
                    let (mut fetch, first) = Fetch::new(config, me, Duration::from_secs(3600));
                    assert_eq!(first, Step::Read);
                    let step = fetch.next(Input::Read(read, self.machine(p)));
                    (step, fetch.events())
                })
                .clone()
        });
        let off = MACHINE[p] - OFFSET[p];
        let beyond = off.unsigned_abs() > config.clock_skew().as_secs();
        if events.clock_off_ms.is_some() != beyond {
            return Err(format!(
                "process {p}, {off} s off the store's clock: reported {:?}",
                events.clock_off_ms
            ));
        }
        Ok(match step {
            Step::Done(Outcome::Token { token, .. }) => {
                self.check_served(token.access_token.expose_secret())?;
                *served = true;
                Pc::Idle { until: None }
            }
            Step::Done(Outcome::Wait(w)) => Pc::Idle {
                until: Some(w.until),
            },
            Step::Sleep(d) if !d.is_zero() => Pc::Idle {
                until: Some(now + d),
            },
            Step::Swap(w) => Pc::Taking(w),
            // Holding a lease from before this fetch: read again, then call.
            Step::Read => Pc::Refreshing,
            Step::ListKeys { .. } => Pc::Listing(self.read(p, config)),
            other => return Err(format!("a fetch's first decision: {other:?}")),
        })
    }

    /// Where a decision on `record` leads.
    fn follow(
        &self,
        record: &Record,
        now: UnixTime,
        me: OwnerId,
        config: &StoreConfig,
        served: &mut bool,
    ) -> Result<Pc, String> {
        Ok(match decide(record, now, me, config) {
            Decision::Serve(t) => {
                self.check_served(t.access_token.expose_secret())?;
                *served = true;
                Pc::Idle { until: None }
            }
            Decision::Wait(w) => {
                if w.until <= now {
                    return Err("Wait not in the future".into());
                }
                Pc::Idle {
                    until: Some(w.until),
                }
            }
            Decision::TakeLease(w) => Pc::Taking(w),
            Decision::Refresh { .. } => Pc::Refreshing,
            Decision::ListKeys { .. } => Pc::Listing(record.clone()),
        })
    }
}
