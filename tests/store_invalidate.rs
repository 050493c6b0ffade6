//! `Record::invalidate` (a Messaging API 401 for the shared token): the fleet refreshes at
//! once after a first rejection, and backs off on rejections in a row as `TokenCache` does,
//! so a channel whose every token is refused (a suspended channel) does not make the fleet
//! issue in a loop; a refused token leaves the count, so such a channel does not lock a
//! short-lived fleet out for 30 days once mended.

use std::time::Duration;

use line_channel_token::store::{decide, Decision, OwnerId, Record, StoreConfig};
use line_channel_token::{IssuedToken, TokenKind, UnixTime};

mod common;
use common::store::reread;

const T0: u64 = 1_700_000_000;
const A: OwnerId = OwnerId::new(1);
const B: OwnerId = OwnerId::new(2);

fn at_ms(ms: u64) -> UnixTime {
    UnixTime::from_millis(T0 * 1000 + ms)
}

fn issued(n: usize, expires_in: u64) -> IssuedToken {
    serde_json::from_value(serde_json::json!({
        "access_token": format!("token-{n}"), "expires_in": expires_in,
    }))
    .unwrap()
}

/// Two processes read the record every 100 ms of the store's time for `span`; every token
/// they are served is refused by the Messaging API and reported at once. Returns when each
/// issuance happened (ms after T0) and the record at the end.
fn rejected_every_time(config: &StoreConfig, span: Duration, lifetime: u64) -> (Vec<u64>, Record) {
    let mut record = Record::empty(config);
    let mut issues = Vec::new();
    let steps = span.as_millis() / 100;
    for step in 0..u64::try_from(steps).unwrap() {
        let ms = step * 100;
        let now = at_ms(ms);
        for me in [A, B] {
            match decide(&record, now, me, config) {
                Decision::TakeLease(take) => {
                    let held = reread(&take, now, config);
                    let token = issued(issues.len(), lifetime);
                    let commit = held.commit(now, me, now, &token, config).unwrap();
                    record = reread(&commit, now, config);
                    issues.push(ms);
                }
                Decision::Serve(t) => {
                    let rejected = t.access_token.clone();
                    if let Some(w) = record.invalidate(now, me, &rejected, config) {
                        record = reread(&w, now, config);
                    }
                }
                _ => {}
            }
        }
    }
    (issues, record)
}

#[test]
fn rejections_in_a_row_back_off_to_about_one_issuance_a_minute() {
    let config =
        StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).unwrap();
    let (issues, _) = rejected_every_time(&config, Duration::from_secs(1800), 900);
    eprintln!(
        "30 min of rejections: {} issuances, the first at {:?} ms",
        issues.len(),
        &issues[..issues.len().min(10)]
    );
    // The first token is issued at once, and so is the refresh the first rejection asks for:
    assert_eq!(issues[..2], [0, 100], "{issues:?}"); // the next read
                                                     // Then backing off: 10 s (the throttle), 10, 10, 10, 16, 32, 60, and a minute from then on.
    let gaps: Vec<u64> = issues.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[1..].iter().all(|&g| g >= 10_000), "{gaps:?}");
    assert!(gaps[8..].iter().all(|&g| g >= 60_000), "{gaps:?}");
    assert!(
        issues.len() <= 30 + 8,
        "{} issuances in 30 min",
        issues.len()
    );
}

#[test]
fn rejections_in_a_row_do_not_spend_a_short_lived_budget() {
    let config = StoreConfig::new(
        "1234567890",
        TokenKind::ShortLived,
        Duration::from_secs(30 * 86_400),
    )
    .and_then(|c| c.with_budget(20))
    .unwrap();
    let (issues, record) = rejected_every_time(&config, Duration::from_secs(60), 30 * 86_400);
    // A minute of rejections: 7 issuances (at 0, 0.1, 10.1, 20.1, 30.1, 40.1 and 56.1 s),
    // then one a minute. The review saw the whole budget of 20 go in 0.4 s.
    assert!(issues.len() <= 7, "{issues:?}");
    assert!(record.issued().len() <= 7);
}

#[test]
fn a_channel_refused_for_an_hour_is_not_locked_out_once_mended() {
    let config = StoreConfig::new(
        "1234567890",
        TokenKind::ShortLived,
        Duration::from_secs(30 * 86_400),
    )
    .and_then(|c| c.with_budget(20))
    .unwrap();
    // An hour of 401s for every token: about one issuance a minute, more than the budget.
    let (issues, record) = rejected_every_time(&config, Duration::from_secs(3600), 30 * 86_400);
    assert!(issues.len() > 20, "{} issuances", issues.len());
    // Refused tokens are not counted (LINE counts only tokens it honours): the count holds
    // the one token not yet refused, and the mended channel gets a token at once, not in
    // 29 days.
    assert!(record.issued().len() <= 1, "{:?}", record.issued());
    let now = at_ms(3_600_000 + 60_000);
    let mut record = record;
    if let Some(t) = record.token().map(|t| t.access_token.clone()) {
        record = reread(
            &record.invalidate(now, A, &t, &config).unwrap(),
            now,
            &config,
        );
    }
    let waited = (0..120)
        .map(|s| now + Duration::from_secs(s))
        .position(|t| matches!(decide(&record, t, A, &config), Decision::TakeLease(_)));
    assert!(waited.is_some_and(|s| s <= 61), "waited {waited:?} s");
}

#[test]
fn a_token_that_lived_to_its_refresh_window_ends_the_row() {
    let config =
        StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).unwrap();
    let mut now = at_ms(0);
    let Decision::TakeLease(take) = decide(&Record::empty(&config), now, A, &config) else {
        panic!()
    };
    let commit = reread(&take, now, &config)
        .commit(now, A, now, &issued(0, 900), &config)
        .unwrap();
    let mut record = reread(&commit, now, &config);
    // Five rejections in a row, each followed by the issuance `decide` allows.
    for n in 1..=5 {
        let t = record.token().unwrap().access_token.clone();
        record = reread(
            &record.invalidate(now, A, &t, &config).unwrap(),
            now,
            &config,
        );
        let mut waited = 0;
        let take = loop {
            match decide(&record, now, A, &config) {
                Decision::TakeLease(take) => break take,
                _ => {
                    now = now + Duration::from_secs(1);
                    waited += 1;
                }
            }
        };
        assert!(
            n > 1 || waited == 0,
            "the first rejection's refresh waited {waited} s"
        );
        let commit = reread(&take, now, &config)
            .commit(now, A, now, &issued(n, 900), &config)
            .unwrap();
        record = reread(&commit, now, &config);
    }
    // The last token lives to its refresh window and is refreshed ahead: the row ends, so the
    // next rejection's refresh is at once again.
    now = now + Duration::from_secs(14 * 60);
    let Decision::TakeLease(take) = decide(&record, now, A, &config) else {
        panic!("a refresh ahead is due")
    };
    let commit = reread(&take, now, &config)
        .commit(now, A, now, &issued(9, 900), &config)
        .unwrap();
    record = reread(&commit, now, &config);
    let t = record.token().unwrap().access_token.clone();
    record = reread(
        &record.invalidate(now, A, &t, &config).unwrap(),
        now,
        &config,
    );
    assert!(matches!(
        decide(&record, now, B, &config),
        Decision::TakeLease(_)
    ));
}
