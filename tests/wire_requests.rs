//! Requests, endpoint by endpoint, as LINE's OpenAPI spec describes them
//! (`tests/data/channel-access-token.yml`): method, path, headers and form fields.

mod common;

use common::wire::*;
use line_channel_token::*;

#[test]
fn issue_short_lived_request() {
    let secret = ChannelSecret::new(NASTY);
    let req = IssueShortLived::new("1234567890", &secret).to_request(&ApiBase::default());
    assert_post(&req, "/v2/oauth/accessToken");
    assert_eq!(
        form(req.body()),
        pairs(&[
            ("grant_type", "client_credentials"),
            ("client_id", "1234567890"),
            ("client_secret", NASTY)
        ])
    );
}

#[test]
fn verify_request() {
    let token = AccessToken::new(NASTY);
    let req = Verify::new(&token).to_request(&ApiBase::default());
    assert_post(&req, "/v2/oauth/verify");
    assert_eq!(form(req.body()), pairs(&[("access_token", NASTY)]));
}

#[test]
fn revoke_request() {
    let token = AccessToken::new(NASTY);
    let req = Revoke::new(&token).to_request(&ApiBase::default());
    assert_post(&req, "/v2/oauth/revoke");
    assert_eq!(form(req.body()), pairs(&[("access_token", NASTY)]));
}

#[test]
fn issue_v21_request() {
    let jwt = ClientAssertion::new("eyJh.eyJp.c2ln-_");
    let req = IssueV21::new(&jwt).to_request(&ApiBase::default());
    assert_post(&req, "/oauth2/v2.1/token");
    assert_eq!(
        form(req.body()),
        pairs(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", "eyJh.eyJp.c2ln-_")
        ])
    );
}

#[test]
fn verify_v21_request() {
    let token = AccessToken::new(NASTY);
    let req = VerifyV21::new(&token).to_request(&ApiBase::default());
    assert_get(&req, "/oauth2/v2.1/verify");
    assert_eq!(query(&req), pairs(&[("access_token", NASTY)]));
}

#[test]
fn key_ids_v21_request() {
    let jwt = ClientAssertion::new("eyJh.eyJp.c2ln");
    let req = KeyIdsV21::new(&jwt).to_request(&ApiBase::default());
    assert_get(&req, "/oauth2/v2.1/tokens/kid");
    assert_eq!(
        query(&req),
        pairs(&[
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", "eyJh.eyJp.c2ln")
        ])
    );
}

#[test]
fn revoke_v21_request() {
    let secret = ChannelSecret::new(NASTY);
    let token = AccessToken::new("tok en");
    let req = RevokeV21::new("1234567890", &secret, &token).to_request(&ApiBase::default());
    assert_post(&req, "/oauth2/v2.1/revoke");
    assert_eq!(
        form(req.body()),
        pairs(&[
            ("client_id", "1234567890"),
            ("client_secret", NASTY),
            ("access_token", "tok en")
        ])
    );
}

#[test]
fn issue_stateless_requests() {
    let secret = ChannelSecret::new(NASTY);
    let req = IssueStateless::by_secret("1234567890", &secret).to_request(&ApiBase::default());
    assert_post(&req, "/oauth2/v3/token");
    assert_eq!(
        form(req.body()),
        pairs(&[
            ("grant_type", "client_credentials"),
            ("client_id", "1234567890"),
            ("client_secret", NASTY)
        ])
    );

    let jwt = ClientAssertion::new("h.p.s");
    let req = IssueStateless::by_assertion(&jwt).to_request(&ApiBase::default());
    assert_post(&req, "/oauth2/v3/token");
    assert_eq!(
        form(req.body()),
        pairs(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", "h.p.s")
        ])
    );
}

#[test]
fn base_with_path_prefix_is_honoured_by_every_endpoint() {
    let api = ApiBase::new("http://127.0.0.1:8080/line/proxy/").unwrap();
    let secret = ChannelSecret::new("s");
    let token = AccessToken::new("t");
    let jwt = ClientAssertion::new("j");
    let requests = [
        IssueShortLived::new("1", &secret).to_request(&api),
        Verify::new(&token).to_request(&api),
        Revoke::new(&token).to_request(&api),
        IssueV21::new(&jwt).to_request(&api),
        VerifyV21::new(&token).to_request(&api),
        KeyIdsV21::new(&jwt).to_request(&api),
        RevokeV21::new("1", &secret, &token).to_request(&api),
        IssueStateless::by_secret("1", &secret).to_request(&api),
    ];
    for (req, op) in requests.iter().zip(Operation::ALL) {
        assert_eq!(req.method(), op.method());
        assert_eq!(req.uri().authority().unwrap().as_str(), "127.0.0.1:8080");
        assert_eq!(req.uri().path(), format!("/line/proxy{}", op.path()));
    }
}

#[test]
fn secrets_never_reach_debug_output_of_operations() {
    let secret = ChannelSecret::new("hunter2-secret");
    let token = AccessToken::new("hunter2-token");
    let jwt = ClientAssertion::new("hunter2-jwt");
    let shown = format!(
        "{:?}{:?}{:?}{:?}",
        IssueShortLived::new("1", &secret),
        RevokeV21::new("1", &secret, &token),
        IssueStateless::by_assertion(&jwt),
        IssueV21::new(&jwt)
    );
    assert!(!shown.contains("hunter2"), "{shown}");
}
