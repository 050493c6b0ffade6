//! v2.1 rotation planning against LINE's limit of 30 active tokens.

mod common;

use std::time::Duration;

use common::cache::*;
use line_channel_token::facts::MAX_ACTIVE_V21;
use line_channel_token::rotation::*;
use line_channel_token::*;

fn rec(kid: &str, expires_in_days: u64) -> V21Record {
    V21Record {
        access_token: AccessToken::new(format!("tok-{kid}")),
        key_id: kid.into(),
        expires_at: T0 + Duration::from_secs(expires_in_days * 86_400),
    }
}

fn listing(ks: &[&str]) -> KeyIds {
    KeyIds {
        kids: ks.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn reconcile_splits_live_gone_and_unknown() {
    let records = vec![rec("a", 5), rec("b", 10), rec("c", 1)];
    let r = reconcile(&records, &listing(&["b", "c", "x"]));
    assert_eq!(
        r.live.iter().map(|x| x.key_id.as_str()).collect::<Vec<_>>(),
        ["c", "b"],
        "oldest first"
    );
    assert_eq!(r.gone[0].key_id, "a");
    assert_eq!(r.unknown_kids, ["x"]);
}

#[test]
fn rotation_issues_before_expiry_then_revokes_the_old() {
    let policy = RotationPolicy::default();
    let r = reconcile(&[rec("a", 20)], &listing(&["a"]));
    assert_eq!(plan(&r, T0, &policy), vec![Step::Use("a".into())]);
    assert_eq!(
        plan(&Reconciliation::default(), T0, &policy),
        vec![Step::Issue]
    );
    let mut r = reconcile(&[rec("a", 0)], &listing(&["a"]));
    r.live[0].expires_at = T0 + Duration::from_secs(3600);
    assert_eq!(
        plan(&r, T0, &policy),
        vec![Step::Issue, Step::RevokeAfterSwitch(vec!["a".into()])]
    );
    let mut r = reconcile(&[rec("a", 0), rec("b", 30)], &listing(&["a", "b"]));
    r.live[0].expires_at = T0 + Duration::from_secs(3600);
    assert_eq!(
        plan(&r, T0, &policy),
        vec![
            Step::Use("b".into()),
            Step::RevokeAfterSwitch(vec!["a".into()])
        ]
    );
}

#[test]
fn at_the_limit_the_oldest_of_ours_is_revoked_first() {
    let mut records = Vec::new();
    for i in 0..28 {
        let mut r = rec(&format!("k{i:02}"), 0);
        r.expires_at = T0 + Duration::from_secs(60 + i * 60);
        records.push(r);
    }
    let mut kids: Vec<String> = records.iter().map(|r| r.key_id.clone()).collect();
    kids.extend(["u1".to_string(), "u2".to_string()]);
    let steps = plan(
        &reconcile(&records, &KeyIds { kids }),
        T0,
        &RotationPolicy::default(),
    );
    assert_eq!(steps[0], Step::RevokeToMakeRoom(vec!["k00".into()]));
    assert_eq!(steps[1], Step::Issue);
    let Step::RevokeAfterSwitch(rest) = &steps[2] else {
        panic!("{steps:?}")
    };
    assert_eq!(rest.len(), 27);
}

#[test]
fn thirty_active_key_ids_never_plan_an_issuance_line_would_refuse() {
    let policy = RotationPolicy::default();
    // 30 unknown, 29 unknown + our expiring one, 30 unknown + our valid one.
    let unknown = |n: usize| (0..n).map(|i| format!("u{i}")).collect::<Vec<_>>();
    let ours = rec("ours", 0);
    let mut expiring = ours.clone();
    expiring.expires_at = T0 + Duration::from_secs(3600);
    for (records, kids) in [
        (vec![], unknown(MAX_ACTIVE_V21)),
        (vec![expiring.clone()], unknown(MAX_ACTIVE_V21)),
        (vec![], unknown(MAX_ACTIVE_V21 + 5)),
    ] {
        let mut listing = KeyIds { kids };
        listing
            .kids
            .extend(records.iter().map(|r| r.key_id.clone()));
        let steps = plan(&reconcile(&records, &listing), T0, &policy);
        assert!(!steps.contains(&Step::Issue), "{steps:?}");
        assert_eq!(
            steps.last(),
            Some(&Step::WaitForRoom(T0 + policy.recheck_after))
        );
    }
    // 29 unknown + ours expiring: revoking ours makes room (the only way), then issue.
    let mut listing = KeyIds {
        kids: unknown(MAX_ACTIVE_V21 - 1),
    };
    listing.kids.push("ours".into());
    let steps = plan(&reconcile(&[expiring], &listing), T0, &policy);
    assert_eq!(
        steps,
        vec![Step::RevokeToMakeRoom(vec!["ours".into()]), Step::Issue]
    );
}

#[test]
fn following_the_plan_against_the_emulator_never_hits_the_refusal() {
    let key = docs_key();
    let mut line = line();
    let kid = line
        .register_public_key(CHANNEL, &key.public_jwk().to_json())
        .unwrap();
    let assertion = AssertionBuilder::new(CHANNEL, &kid)
        .token_exp(Duration::from_secs(86_400))
        .sign(&key, T0, &mut OsRng)
        .unwrap();
    let api = ApiBase::default();
    let mut records = Vec::new();
    for _ in 0..30 {
        let t =
            IssueV21::parse_response(&line.handle(T0, &IssueV21::new(&assertion).to_request(&api)))
                .unwrap();
        records.push(V21Record {
            expires_at: t.expires_at(T0),
            key_id: t.key_id.unwrap(),
            access_token: t.access_token,
        });
    }
    let refused =
        IssueV21::parse_response(&line.handle(T0, &IssueV21::new(&assertion).to_request(&api)))
            .unwrap_err();
    assert_eq!(
        refused.as_api().unwrap().message(),
        Some("The maximum number of access tokens has already been issued")
    );
    let listing =
        KeyIdsV21::parse_response(&line.handle(T0, &KeyIdsV21::new(&assertion).to_request(&api)))
            .unwrap();
    let r = reconcile(&records, &listing);
    let steps = plan(
        &r,
        T0 + Duration::from_secs(3600),
        &RotationPolicy::default(),
    );
    let Step::RevokeToMakeRoom(victims) = &steps[0] else {
        panic!("{steps:?}")
    };
    let victim = r.live.iter().find(|x| x.key_id == victims[0]).unwrap();
    let secret = ChannelSecret::new(SECRET);
    RevokeV21::parse_response(&line.handle(
        T0,
        &RevokeV21::new(CHANNEL, &secret, &victim.access_token).to_request(&api),
    ))
    .unwrap();
    IssueV21::parse_response(&line.handle(T0, &IssueV21::new(&assertion).to_request(&api)))
        .unwrap();
}

#[test]
fn a_listed_key_our_clock_calls_expired_still_counts_against_the_limit() {
    // LINE lists 30 key ids: 29 unknown, and one of ours that our (fast) clock says expired
    // a second ago. LINE still counts it, so issuing now would be refused: revoke it first.
    let now = T0 + Duration::from_secs(86_400 + 1);
    let ours = rec("ours", 1);
    let mut kids: Vec<String> = (0..29).map(|i| format!("u{i}")).collect();
    kids.push("ours".into());
    let r = reconcile(&[ours], &KeyIds { kids });
    assert_eq!(
        plan(&r, now, &RotationPolicy::default()),
        vec![Step::RevokeToMakeRoom(vec!["ours".into()]), Step::Issue]
    );
}

#[test]
fn wait_for_room_is_always_later_than_now() {
    let r = Reconciliation {
        unknown_kids: (0..MAX_ACTIVE_V21).map(|i| format!("u{i}")).collect(),
        ..Reconciliation::default()
    };
    let policy = RotationPolicy {
        recheck_after: Duration::ZERO,
        ..RotationPolicy::default()
    };
    match plan(&r, T0, &policy).as_slice() {
        [Step::WaitForRoom(t)] => assert!(*t > T0, "{t:?}"),
        other => panic!("{other:?}"),
    }
}
