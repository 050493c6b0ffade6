//! Successful responses, from the spec's examples, and the generic `call` adapter.

mod common;

use common::wire::*;
use line_channel_token::*;

#[test]
fn spec_example_issue_stateless() {
    let r = response(
        200,
        r#"{"token_type":"Bearer","access_token":"eyJhbGciOiJIUz.....","expires_in":899}"#,
    );
    let t = IssueStateless::parse_response(&r).unwrap();
    assert_eq!(t.access_token.expose_secret(), "eyJhbGciOiJIUz.....");
    assert_eq!(
        (t.expires_in, t.token_type.as_str(), t.key_id.as_deref()),
        (899, "Bearer", None)
    );
    assert_eq!(
        t.expires_at(UnixTime::from_secs(1000)),
        UnixTime::from_secs(1899)
    );
}

#[test]
fn spec_example_key_ids() {
    let r = response(
        200,
        r#"{"kids":["U_gdnFYKTWRxxxxDVZexGg","sDTOzw5wIfWxxxxzcmeQA","73hDyp3PxGfxxxxD6U5qYA","FHGanaP79smDxxxxyPrVw","CguB-0kxxxxdSM3A5Q_UtQ","G82YP96jhHwyKSxxxx7IFA"]}"#,
    );
    let k = KeyIdsV21::parse_response(&r).unwrap();
    assert_eq!(k.kids.len(), 6);
    assert!(k.contains("CguB-0kxxxxdSM3A5Q_UtQ"));
    assert!(!k.contains("nope"));
}

#[test]
fn spec_example_issue_v21() {
    let r = response(
        200,
        r#"{"access_token":"eyJhbGciOiJIUz.....","token_type":"Bearer","expires_in":2592000,"key_id":"sDTOzw5wIfxxxxPEzcmeQA"}"#,
    );
    let info = IssueV21::parse_response_with_info(&r).unwrap();
    assert_eq!(info.value.expires_in, 2_592_000);
    assert_eq!(info.value.key_id.as_deref(), Some("sDTOzw5wIfxxxxPEzcmeQA"));
    assert_eq!(info.request_id.as_deref(), Some("0f5b4c3e-req"));
    assert_eq!(info.status, 200);
}

#[test]
fn issue_v21_without_key_id_is_a_decode_error() {
    let r = response(
        200,
        r#"{"access_token":"a","token_type":"Bearer","expires_in":1}"#,
    );
    let e = IssueV21::parse_response(&r).unwrap_err();
    let Error::Decode(d) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(d.operation(), Operation::IssueV21);
    assert!(e.to_string().contains("key_id"), "{e}");
    assert!(e.to_string().contains("issue v2.1 token"), "{e}");
}

#[test]
fn spec_example_verify_v21() {
    let r = response(
        200,
        r#"{"client_id":"1573163733","expires_in":2591659,"scope":"profile chat_message.write"}"#,
    );
    let v = VerifyV21::parse_response(&r).unwrap();
    assert_eq!(v.client_id, "1573163733");
    assert_eq!(v.expires_in, 2_591_659);
    assert_eq!(v.scope.as_deref(), Some("profile chat_message.write"));
}

#[test]
fn spec_example_issue_short_lived() {
    let r = response(
        200,
        r#"{"access_token":"W1TeHCgfH2Liwa.....","expires_in":2592000,"token_type":"Bearer"}"#,
    );
    let t = IssueShortLived::parse_response(&r).unwrap();
    assert_eq!(t.access_token.expose_secret(), "W1TeHCgfH2Liwa.....");
    assert_eq!(t.expires_in, 2_592_000);
}

#[test]
fn spec_example_verify_long_lived_exceeds_i32() {
    let r = response(
        200,
        r#"{"client_id":"1350031035","expires_in":3138007490,"scope":"P CM"}"#,
    );
    let v = Verify::parse_response(&r).unwrap();
    assert_eq!(v.expires_in, 3_138_007_490);
    assert_eq!(v.scope.as_deref(), Some("P CM"));
    let no_scope = response(200, r#"{"client_id":"1","expires_in":5}"#);
    assert_eq!(Verify::parse_response(&no_scope).unwrap().scope, None);
}

#[test]
fn revoke_accepts_empty_and_ignores_any_body() {
    assert_eq!(Revoke::parse_response(&response(200, "")), Ok(()));
    assert_eq!(RevokeV21::parse_response(&response(200, "{}")), Ok(()));
    assert_eq!(RevokeV21::parse_response(&response(200, "<html>")), Ok(()));
}

#[test]
fn unknown_fields_are_ignored() {
    let r = response(
        200,
        r#"{"access_token":"a","expires_in":900,"token_type":"Bearer","new_field":[1,{"x":null}]}"#,
    );
    assert_eq!(IssueStateless::parse_response(&r).unwrap().expires_in, 900);
}

#[test]
fn success_bodies_that_do_not_parse_are_decode_errors_naming_the_operation() {
    for body in [
        "",
        "not json",
        r#"{"access_token":"a"}"#,
        r#"{"access_token":1,"expires_in":1}"#,
        r#"{"access_token":"a","expires_in":-1}"#,
    ] {
        let e = IssueShortLived::parse_response(&response(200, body)).unwrap_err();
        assert!(matches!(e, Error::Decode(_)), "{body}: {e:?}");
        assert!(e.to_string().contains("issue short-lived token"), "{e}");
        assert_eq!(e.request_id(), Some("0f5b4c3e-req"));
        assert!(!e.is_retryable());
    }
}

#[test]
fn call_runs_any_endpoint_through_a_closure_and_separates_transport_errors() {
    let api = ApiBase::default();
    let token = AccessToken::new("t");
    let ok = call(&api, &Verify::new(&token), |req| {
        assert_eq!(req.uri().path(), "/v2/oauth/verify");
        Ok::<_, String>(response(200, r#"{"client_id":"1","expires_in":2}"#))
    });
    assert_eq!(ok.unwrap().client_id, "1");

    let transport = call(&api, &Verify::new(&token), |_| {
        Err::<http::Response<Vec<u8>>, _>("dns failure".to_string())
    });
    let e = transport.unwrap_err();
    assert!(matches!(e, CallError::Transport(ref s) if s == "dns failure"));
    assert!(e.is_retryable());

    let protocol = call(&api, &Verify::new(&token), |_| {
        Ok::<_, String>(response(400, r#"{"error":"invalid_request"}"#))
    });
    assert!(matches!(protocol, Err(CallError::Protocol(Error::Api(_)))));
}
