//! Jitter and incarnation ids from a seed given once: no RNG is passed to `poll`.
//!
//! Jitter needs spread, not secrecy, so a tiny non-cryptographic mixer (splitmix64) is enough;
//! quinn-proto takes an `rng_seed` the same way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::config::CacheConfig;

/// splitmix64's output function: a bijective mix of 64 bits.
pub(super) use crate::lifecycle::policy::mix;

/// Every cache built in this process gets a distinct number, so two caches never share an
/// incarnation even when given the same seed.
static BUILT: AtomicU64 = AtomicU64::new(0);

/// An id for a new cache instance: tickets carry it, and an answer whose ticket carries
/// another id (another cache, or an earlier instance of this one) is never accepted.
pub(super) fn incarnation(seed: u64) -> u64 {
    mix(seed).wrapping_add(BUILT.fetch_add(1, Ordering::Relaxed))
}

/// A seed when the caller gave none: the operating system's RNG with `os-rng`, otherwise the
/// channel id mixed with a process-wide counter (distinct per instance, but the same across
/// processes: give [`TokenCacheBuilder::seed`](super::TokenCacheBuilder::seed) in a fleet).
pub(super) fn default_seed(channel_id: &str) -> u64 {
    #[cfg(feature = "os-rng")]
    if let Ok(seed) = rsa::rand_core::TryRng::try_next_u64(&mut crate::OsRng) {
        return seed;
    }
    {
        let h = channel_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        mix(h ^ BUILT.load(Ordering::Relaxed))
    }
}

/// "Equal jitter" backoff: half the exponential delay, plus a random part of the other half;
/// never above [`CacheConfig::backoff_cap`], never below half of the current step.
pub(super) fn backoff_delay(config: &CacheConfig, failures: u32, random: u64) -> Duration {
    // The fleet store backs off by the same rule.
    crate::lifecycle::policy::equal_jitter(
        config.backoff_base(),
        config.backoff_cap(),
        failures,
        random,
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::backoff_delay;
    use crate::lifecycle::cache::CacheConfig;

    #[test]
    fn the_third_failure_waits_two_to_four_seconds_and_the_last_is_capped() {
        let config = CacheConfig::for_lifetime(Duration::from_secs(900));
        let third = backoff_delay(&config, 3, 12345);
        assert!(third >= Duration::from_secs(2) && third <= Duration::from_secs(4));
        assert!(backoff_delay(&config, u32::MAX, u64::MAX) <= config.backoff_cap());
    }

    proptest! {
        #[test]
        fn backoff_is_bounded_and_grows(failures in 1u32..200, random in any::<u64>()) {
            let config = CacheConfig::for_lifetime(Duration::from_secs(900));
            let d = backoff_delay(&config, failures, random);
            prop_assert!(d <= config.backoff_cap());
            let full = config
                .backoff_base()
                .saturating_mul(1 << (failures - 1).min(31))
                .min(config.backoff_cap());
            prop_assert!(d >= full / 2);
        }
    }
}
