//! The fleet store: the decision on a hit and decoding a record. The Redis round trips a token
//! fetch costs are measured by the line-token package, which holds the Redis adapter
//! (`cargo run --release -p line-token --example store_round_trips`).

use std::time::Duration;

use line_channel_token::*;

use crate::{fmt, time};

/// The fleet's store protocol: `store::decide` on a hit (goal <= 1 µs).
pub(crate) fn fleet_store(budget: Duration) {
    use line_channel_token::store::{decide, Decision, OwnerId, Record, StoreConfig};

    println!("\n== fleet store ==");
    let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))
        .expect("valid");
    let now = UnixTime::from_secs(1_700_000_000);
    let me = OwnerId::new(7);
    let Decision::TakeLease(lease) = decide(&Record::empty(&config), now, me, &config) else {
        unreachable!("an empty record is taken")
    };
    let token: IssuedToken =
        serde_json::from_str(r#"{"access_token":"eyJhbGciOiJIUz.....","expires_in":900}"#)
            .expect("token json");
    let commit = lease
        .record()
        .commit(now, me, now, &token, &config)
        .expect("the holder commits");
    let body = commit.body();
    let (record, _) = Record::from_store(commit.new_version(), Some(body.as_bytes()), now, &config)
        .expect("the fleet's own record");
    let hit = time(budget, || {
        matches!(
            decide(&record, now, OwnerId::new(8), &config),
            Decision::Serve(_)
        )
    });
    println!("store::decide on a hit        {:>12}", fmt(hit));
    println!("store_decide_hit_ns: {}", hit.as_nanos());
    let decode = time(budget, || {
        Record::from_store(commit.new_version(), Some(body.as_bytes()), now, &config)
    });
    println!("Record::from_store (decode)   {:>12}", fmt(decode));
    println!("(Redis round trips per hit: cargo run --release -p line-token --example store_round_trips)");
}
