//! Exhaustive model check of the store protocol (`line_channel_token::store`).
//!
//! Three processes share one v2.1 record through a compare-and-swap store. Every interleaving
//! of their steps is explored breadth-first, with a visited-state set, together with the moves
//! of the world around them: time passing (so leases, tokens and backoffs run out), any process
//! crashing at any step (it comes back with a new owner id), including after LINE answered and
//! before it committed; LINE failing a refresh cleanly (429) or ambiguously (a 5xx or a
//! timeout, and LINE issued), its failure arriving late (after the lease, after the shared
//! token expired: the holder re-reads and judges at that read's time); the store being wiped (Redis restarted empty); and a failover to a
//! replica that missed the last write or the last two. Answers and writes may come arbitrarily late, since a
//! process can stay paused while time and the others move on: a LINE answer may arrive long
//! after the lease it was asked under. The store's time as each process reads it is skewed
//! within the tolerance (-1 s, 0, +1 s from true time); the machines' own clocks are 10
//! minutes behind, right, and 10 minutes ahead. Every new fetch's first read goes through
//! the library's [`Fetch`], given both clocks as `store::drive` gives them: the invariants
//! below hold only because it decides on the store's time, and it must report the two
//! machines beyond the tolerance (and not the other).
//!
//! Checked in every reachable state:
//! 1. never two successful commits for one version, within one life of the store; across a
//!    wipe, a version comes back only with the very same body, so a write fenced on it applies
//!    to exactly what its writer read;
//! 2. never a token served past its real expiry (LINE's, in true time);
//! 3. a token again soon: from any state, a process that keeps running on its own (whatever
//!    the others hold, however they are stuck) serves a token within a bound of true time;
//! 4. LINE never holds more live tokens than the budget;
//! 5. every token live at LINE is listed in the record or counted by a tentative entry of the
//!    process that asked for it (unless the record says its count is uncertain: new, wiped).
//!
//! Plus: the shared token's expiry never goes backwards and no write drops it (a late holder
//! never overwrites a newer token), and every `Wait` is in the future.
//!
//! The checks can fail: at the default depth, each of these deliberate bugs was caught (and
//! the change reverted): a late commit that replaces the shared token ("expiry went
//! backwards"), serving without the remaining-life margin ("served past its expiry"),
//! ignoring leases shorter than their bound ("no token within 13 s"), counter versions
//! ("version comes back with another body" after a wipe), and no tentative entry when the
//! lease is taken ("1 live tokens ... unlisted, 0 counted tentatively", at depth 6), and a 502 after LINE
//! issued taken as "nothing issued" (the same message, at depth 8). Deeper
//! runs caught a process reusing its tentative entry across a retry, a settling lease cut
//! back to a plain one once reconciled, a holder calling LINE on a lease a wipe had erased,
//! and one owner id shared by two fetches across a failover.
//!
//! `STORE_MODEL_DEPTH=12 cargo test --test store_model` explores deeper (about 910,000
//! states, 70 s in the test profile on 2 shared cores; depth 11, the default, 380,000 states
//! in about 25 s).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use line_channel_token::store::{
    call_deadline, decide, Body, Decision, Events, Failure, Fetch, Input, Outcome, OwnerId, Read,
    Record, Step, StoreConfig, Write,
};
use line_channel_token::{IssuedToken, TokenKind, UnixTime};

mod checks;
mod process;
mod world;

const PROCS: usize = 3;
/// Each process's clock offset from true time, in seconds.
const OFFSET: [i64; PROCS] = [-1, 0, 1];
/// Each process's machine clock offset from true time, in seconds: two beyond the tolerance
/// (the store's time is what they decide on; they must say their clock is off).
const MACHINE: [i64; PROCS] = [-600, 0, 600];
/// True time starts here (seconds) and the world stops ticking at START + HORIZON.
const START: u64 = 1_000;
const HORIZON: u64 = 20;
/// What LINE gives: an 8 s token (short, so expiry and refresh happen within the depth).
const LIFETIME: u64 = 8;
const MAX_CRASHES: u8 = 2;
const MAX_FAILURES: u8 = 1;
const MAX_WIPES: u8 = 1;
/// Failovers to a replica that missed the last write.
const MAX_FAILOVERS: u8 = 1;
/// How many of its last writes a failover may lose.
const LOST_WRITES: usize = 2;
/// Breadth-first depth (steps of processes and world). Tuned to stay well under a minute in
/// the test profile.
const DEPTH: usize = 11;
/// How far one tick of the world's clock moves true time, in seconds: the lease (4 s) runs out
/// in two ticks, so takeovers happen within the explored depth.
const TICK: u64 = 2;

fn config() -> StoreConfig {
    StoreConfig::new("1234567890", TokenKind::V21, Duration::from_secs(LIFETIME))
        .and_then(|c| c.with_lease(Duration::from_secs(4)))
        .and_then(|c| c.with_refresh_before(Duration::from_secs(6)))
        .and_then(|c| c.with_margins(Duration::from_secs(4), Duration::from_secs(1)))
        .and_then(|c| c.with_budget(4))
        .map(|c| {
            c.with_timing(
                Duration::from_secs(1),
                Duration::from_secs(1),
                Duration::from_secs(2),
                Duration::from_secs(2),
            )
        })
        .expect("valid model config")
}

/// What a read depends on: the version, the body and the reader's clock.
type ReadKey = (u64, Option<String>, UnixTime);
/// What a fetch's first step depends on: the read, the machine's clock and the owner.
type FetchKey = (ReadKey, UnixTime, OwnerId);

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
enum Pc {
    /// About to read the record (a new fetch), or to re-read once `until` has passed.
    Idle { until: Option<UnixTime> },
    /// About to compare-and-swap a lease.
    Taking(Write),
    /// Holding the lease: about to re-read, decide again and, still holding it, call LINE at
    /// once (so the call starts within a lease of a read that showed the lease).
    Refreshing,
    /// Holding the lease (v2.1, count uncertain): about to list LINE's key ids.
    Listing(Record),
    /// About to compare-and-swap the record reconciled with LINE's listing.
    Reconciling(Write),
    /// LINE answered token `id` (sent at `sent_at` by this clock): about to compare-and-swap
    /// `write`, if any; on losing, re-read and commit again (adopt).
    Committing {
        write: Write,
        id: u32,
        sent_at: UnixTime,
        holder: bool,
    },
    /// Lost a commit: about to re-read and commit (adopt) token `id`.
    Recommit { id: u32, sent_at: UnixTime },
    /// LINE's call failed (as `Line` says), its answer arriving whenever: about to re-read
    /// and, at that read's time, serve the shared token if still usable and release.
    Failed(Line),
    /// LINE failed: about to compare-and-swap the release.
    Releasing(Write),
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct Proc {
    pc: Pc,
    /// Drawn anew at a restart and for every fetch that took a lease: the owner id.
    incarnation: u8,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct State {
    time: u64, // true time, seconds
    version: u64,
    body: Option<String>,
    procs: [Proc; PROCS],
    /// LINE's tokens: true expiry (seconds) of token `i`, and the owner id that asked for it.
    tokens: Vec<(u64, OwnerId)>,
    crashes: u8,
    failures: u8,
    wipes: u8,
    failovers: u8,
    /// The store before its last two writes (oldest first), which a failover to a lagging
    /// replica brings back.
    previous: Vec<(u64, Option<String>)>,
    /// The versions commits were fenced on since the last wipe (property 1).
    commits: Vec<u64>,
}

impl State {
    fn initial() -> State {
        State {
            time: START,
            version: 0,
            body: None,
            procs: std::array::from_fn(|_| Proc {
                pc: Pc::Idle { until: None },
                incarnation: 0,
            }),
            tokens: Vec::new(),
            crashes: 0,
            failures: 0,
            wipes: 0,
            failovers: 0,
            previous: Vec::new(),
            commits: Vec::new(),
        }
    }

    /// The store's time as process `p` reads it (within the tolerance of true time).
    fn now(&self, p: usize) -> UnixTime {
        UnixTime::from_secs(self.time.saturating_add_signed(OFFSET[p]))
    }

    /// Process `p`'s machine clock: off by [`MACHINE`] seconds, beyond the tolerance for two.
    fn machine(&self, p: usize) -> UnixTime {
        UnixTime::from_secs(self.time.saturating_add_signed(MACHINE[p]))
    }

    fn me(&self, p: usize) -> OwnerId {
        OwnerId::new(p as u64 * 256 + self.procs[p].incarnation as u64)
    }

    fn read(&self, p: usize, config: &StoreConfig) -> Record {
        self.read_at(self.now(p), config)
    }

    fn read_at(&self, now: UnixTime, config: &StoreConfig) -> Record {
        thread_local! {
            /// Decoding is pure: remember it (the model reads the same bodies millions of times).
            static DECODED: std::cell::RefCell<HashMap<ReadKey, Record>> = Default::default();
        }
        let key = (self.version, self.body.clone(), now);
        DECODED.with(|d| {
            d.borrow_mut()
                .entry(key)
                .or_insert_with(|| {
                    Record::from_store(
                        self.version,
                        self.body.as_deref().map(str::as_bytes),
                        now,
                        config,
                    )
                    .expect("the model's bodies are its own channel's")
                    .0
                })
                .clone()
        })
    }
}

/// What LINE does with a refresh.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Line {
    /// Issues a token and answers.
    Issues,
    /// Answers 500, issues nothing.
    Fails,
    /// Issues a token, but the answer never arrives (a timeout).
    Ambiguous,
}

fn issued(id: u32) -> IssuedToken {
    serde_json::from_value(serde_json::json!({
        "access_token": format!("t{id}"),
        "expires_in": LIFETIME,
        "key_id": format!("k{id}"),
    }))
    .expect("token json")
}

#[test]
fn three_processes_with_crashes_skew_and_late_writes() {
    let config = config();
    // The liveness bound: a frozen holder's lease on a wiped record (4 s, plus 4 + 2 s for
    // lost calls to end) seen through the clock skew (2 x 1 s), a backoff (2 s), one re-read
    // (1 s), the wait for lost calls to end under its own lease (6 s), and the steps of one
    // refresh.
    let bound = 10 + 2 + 2 + 1 + 6 + 2;
    let depth_limit = std::env::var("STORE_MODEL_DEPTH")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(DEPTH);
    let started = Instant::now();
    let mut seen: HashSet<State> = HashSet::new();
    let mut frontier = VecDeque::new();
    let initial = State::initial();
    seen.insert(initial.clone());
    frontier.push_back((initial, 0usize));
    let mut deepest = 0;
    let mut worst_solo = 0;
    let mut solo_done = HashSet::new();
    while let Some((state, depth)) = frontier.pop_front() {
        if depth > deepest {
            eprintln!(
                "depth {depth}: {} states, {:.1} s",
                seen.len(),
                started.elapsed().as_secs_f64()
            );
        }
        deepest = deepest.max(depth);
        for p in 0..PROCS {
            // Alone, `p` sees only the store, the clock and its own step: the others' steps
            // do not matter, so states that agree on those share one check.
            let key = (
                state.time,
                state.version,
                state.body.clone(),
                state.procs[p].clone(),
                state.tokens.clone(),
            );
            if !solo_done.insert(key) {
                continue;
            }
            let took = state
                .solo(p, &config, bound)
                .unwrap_or_else(|e| panic!("{e}\nin state {state:#?}"));
            worst_solo = worst_solo.max(took);
        }
        if depth == depth_limit {
            continue;
        }
        let next = state
            .successors(&config)
            .unwrap_or_else(|e| panic!("{e}\nfrom state {state:#?}"));
        for s in next {
            if seen.insert(s.clone()) {
                frontier.push_back((s, depth + 1));
            }
        }
    }
    // Straight to stderr, past the test harness's capture: the figures belong in every run's
    // output, not only with --nocapture.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "store model: {PROCS} processes, depth {deepest}, {} states, worst time to a token alone {worst_solo} s (bound {bound} s), {:.1} s",
        seen.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        seen.len() > 10_000,
        "the model explored too little: {}",
        seen.len()
    );
}
