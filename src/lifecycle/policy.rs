//! The refresh rules the cache and the fleet store share, as pure functions: the lifetime cap
//! on what an answer claims, a token's usable end and jittered refresh point, the issuance
//! throttle, and backoff with jitter. One place, so the in-process cache and the fleet
//! cannot drift apart on them.

use std::time::Duration;

use crate::facts::{TokenKind, MAX_TOKEN_EXP};
use crate::time::UnixTime;

/// The longest lifetime LINE gives a token of this kind: a stored token living longer is
/// impossible, and an answer claiming longer is capped to it.
pub(crate) fn longest_lifetime(kind: TokenKind) -> Duration {
    kind.fixed_lifetime().unwrap_or(MAX_TOKEN_EXP)
}

/// When a token of `kind` issued at `issued_at` and claiming `lifetime` expires: never later
/// than LINE's longest lifetime for the kind (a stateless token claiming a day lives 15 min).
pub(crate) fn capped_expiry(kind: TokenKind, issued_at: UnixTime, lifetime: Duration) -> UnixTime {
    issued_at + lifetime.min(longest_lifetime(kind))
}

/// SplitMix64: spreads a seed into a well-mixed random number.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fraction of `span` picked by `random`, in `[0, span)` at millisecond resolution.
pub(crate) fn part_of(span: Duration, random: u64) -> Duration {
    let ms = u64::try_from(span.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(random % ms)
}

/// "Equal jitter" backoff after `failures` failures in a row: half the exponential delay
/// (`base` doubling, at most `cap`), plus a random part of the other half.
pub(crate) fn equal_jitter(base: Duration, cap: Duration, failures: u32, random: u64) -> Duration {
    let exp = failures.saturating_sub(1).min(31);
    let full = base.checked_mul(1u32 << exp).unwrap_or(cap).min(cap);
    let half = full / 2;
    half + part_of(full.saturating_sub(half) + Duration::from_millis(1), random)
        .min(full.saturating_sub(half))
}

/// A held token's timeline under the refresh rules: when it stops being handed out and when
/// its refresh is due. The cache and the store both compute it here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// The token is handed out strictly before this: its expiry minus the margin.
    pub(crate) usable_until: UnixTime,
    /// The refresh is due from this instant on (jittered, never before the lead).
    pub(crate) refresh_at: UnixTime,
}

/// The timeline of a token issued at `issued_at` and expiring at `expires_at`. Margins are
/// proportionate to the lifetime: a `margin` of at most a quarter of it, a refresh `lead` of
/// at most half the usable life (so at most one refresh per half life). The refresh point
/// is later by up to a fifth of the lead, the same for the same token and `seed`.
pub(crate) fn window(
    issued_at: UnixTime,
    expires_at: UnixTime,
    margin: Duration,
    lead: Duration,
    seed: u64,
) -> Window {
    let lifetime = expires_at - issued_at;
    let usable_until = expires_at - margin.min(lifetime / 4);
    let usable = usable_until - issued_at;
    let lead = lead.min(usable / 2);
    let jitter = part_of(lead / 5, mix(seed ^ expires_at.as_millis()));
    Window {
        usable_until,
        refresh_at: (usable_until - lead) + jitter,
    }
}

/// The issuance throttle: the earliest a new issuance may start after one started at `last`,
/// `min_interval` apart. Pass `last` through [`last_issue`] first.
pub(crate) fn throttle_until(last: Option<UnixTime>, min_interval: Duration) -> UnixTime {
    last.map_or(UnixTime::EPOCH, |t| t + min_interval)
}

/// The last issuance as the throttle counts it at `now`: one that seems to have started in
/// the future was seen by a clock that has since gone back, and is forgotten (the fleet
/// store, which keeps no marker of its own, could not remember it pulled in; so neither
/// does the cache). A clock that goes back thus allows one issuance, not a loop.
pub(crate) fn last_issue(last: Option<UnixTime>, now: UnixTime) -> Option<UnixTime> {
    last.filter(|t| *t <= now)
}

/// After `rejections` tokens in a row were rejected (a Messaging API 401 reported with
/// `invalidate`, each before it reached its refresh window), the earliest the next issuance
/// may start, the last having started at `last`. The first rejection's refresh is not held
/// back at all (a 401 gets a new token within one round trip to LINE); each further one
/// waits `base` doubling up to `cap` after the last issuance, and the throttle applies again
/// (`min_interval`): a channel whose every token is rejected (a suspended channel) issues
/// at most about once per `cap`, not in a loop. The cache and the store both ask this.
pub(crate) fn after_rejections(
    last: Option<UnixTime>,
    rejections: u32,
    base: Duration,
    cap: Duration,
    min_interval: Duration,
) -> UnixTime {
    if rejections <= 1 {
        return UnixTime::EPOCH;
    }
    let steps = (rejections - 2).min(31);
    let delay = base.checked_mul(1 << steps).map_or(cap, |d| d.min(cap));
    last.map_or(UnixTime::EPOCH, |t| t + delay.max(min_interval))
}

/// Spacing after an ambiguous failure (LINE may have issued: a 5xx, no answer) of a counted
/// kind while the fleet still holds a usable token: the next try is no earlier than
/// `failed_at + max(backoff, usable_left / (slots_left + 1))`, where `backoff_until` is the
/// usual backoff's end, `usable_left` the held token's usable time left at `failed_at` (the
/// store's time) and `slots_left` the budget left after counting every entry.
///
/// Each such failure may have spent a slot. With `U` usable and `S` slots left, the tries
/// come `U / (S + 1)` apart (the next gap is `(U - U / (S + 1)) / S`, the same), so a LINE
/// that answers 5xx for hours spends the budget over the token's usable life, not in
/// minutes: the last slot goes one gap before the token stops being usable (after that,
/// [`slack_allows`] decides).
pub(crate) fn spaced_retry(
    failed_at: UnixTime,
    backoff_until: UnixTime,
    usable_until: UnixTime,
    slots_left: usize,
) -> UnixTime {
    let shares = u32::try_from(slots_left.saturating_add(1)).unwrap_or(u32::MAX);
    backoff_until.max(failed_at + (usable_until - failed_at) / shares)
}

/// The slack when down: whether a fleet whose budget is spent (`active` entries, `budget`
/// or more) may issue all the same. Only when it holds no usable token (the caller checks:
/// the fleet is down anyway), when the budget is spent only because of `failed` entries
/// (calls that failed in a way that may have issued: nobody was handed their tokens), and
/// while `active` stays below LINE's own limit for the kind (`limit`, from `facts`): below
/// it LINE revokes (short-lived) or refuses (v2.1) nothing, so the token issued cannot cost
/// the fleet a token it handed out.
///
/// The slack is the room the budget leaves below LINE's limit for other tools: if the
/// failed calls did issue and other tools hold tokens on the channel, LINE may revoke its
/// oldest token, which may be theirs. Tentative entries of holders that stopped are not
/// slack: a holder whose commit kept failing handed its token out, and the record cannot
/// tell it from one that died.
pub(crate) fn slack_allows(
    active: usize,
    failed: usize,
    budget: usize,
    limit: Option<usize>,
) -> bool {
    active.saturating_sub(failed) < budget && limit.is_some_and(|l| active < l)
}
