//! LINE's documented error bodies
//! (<https://developers.line.biz/en/reference/messaging-api/#channel-access-token>), their
//! two shapes, and the hint each one gets.

mod common;

use common::wire::*;
use line_channel_token::*;

#[test]
fn documented_oauth_error_bodies() {
    let cases: &[(Operation, u16, &str, &str, Option<&str>)] = &[
        (
            Operation::IssueShortLived,
            400,
            r#"{"error": "invalid_client", "error_description": "invalid client_id"}"#,
            "invalid_client",
            Some("invalid client_id"),
        ),
        (
            Operation::IssueShortLived,
            400,
            r#"{"error": "invalid_client", "error_description": "invalid client_secret"}"#,
            "invalid_client",
            Some("invalid client_secret"),
        ),
        (
            Operation::Verify,
            400,
            r#"{"error": "invalid_request", "error_description": "access_token invalid"}"#,
            "invalid_request",
            Some("access_token invalid"),
        ),
        (
            Operation::Verify,
            400,
            r#"{"error": "invalid_request", "error_description": "access_token in invalid format"}"#,
            "invalid_request",
            Some("access_token in invalid format"),
        ),
        (
            Operation::Revoke,
            400,
            r#"{"error": "invalid_request"}"#,
            "invalid_request",
            None,
        ),
        (
            Operation::IssueV21,
            400,
            r#"{"error": "invalid_client", "error_description": "iss and clientId of key do not match"}"#,
            "invalid_client",
            Some("iss and clientId of key do not match"),
        ),
        (
            Operation::VerifyV21,
            400,
            r#"{"error": "invalid_request", "error_description": "The access token expired"}"#,
            "invalid_request",
            Some("The access token expired"),
        ),
        (
            Operation::VerifyV21,
            400,
            r#"{"error": "invalid_request", "error_description": "The access token not JWS"}"#,
            "invalid_request",
            Some("The access token not JWS"),
        ),
        (
            Operation::KeyIdsV21,
            400,
            r#"{"error": "invalid_client", "error_description": "Invalid exp"}"#,
            "invalid_client",
            Some("Invalid exp"),
        ),
        (
            Operation::RevokeV21,
            400,
            r#"{"error": "invalid_request", "error_description": "The access token not JWS"}"#,
            "invalid_request",
            Some("The access token not JWS"),
        ),
        (
            Operation::RevokeV21,
            400,
            r#"{"error": "invalid_request", "error_description": "The access token malformed"}"#,
            "invalid_request",
            Some("The access token malformed"),
        ),
        (
            Operation::IssueStateless,
            400,
            r#"{"error": "invalid_request", "error_description": "Invalid 'client_credentials'."}"#,
            "invalid_request",
            Some("Invalid 'client_credentials'."),
        ),
    ];
    for (op, status, body, error, description) in cases {
        let e = parse_as(*op, *status, body);
        assert_eq!(e.operation(), *op);
        assert_eq!(e.status(), *status);
        assert_eq!(e.error(), Some(*error), "{body}");
        assert_eq!(e.error_description(), *description, "{body}");
        assert_eq!(e.message(), None);
        assert_eq!(e.request_id(), Some("0f5b4c3e-req"));
        assert!(!e.is_retryable());
        let shown = e.to_string();
        assert!(
            shown.contains(error) && shown.contains("HTTP 400") && shown.contains("0f5b4c3e-req"),
            "{shown}"
        );
    }
}

#[test]
fn documented_message_error_bodies() {
    let cases: &[(Operation, u16, &str)] = &[
        (
            Operation::IssueV21,
            400,
            "The maximum number of access tokens has already been issued",
        ),
        (
            Operation::IssueV21,
            404,
            "Cannot find channel key that satisfies the conditions",
        ),
        (
            Operation::KeyIdsV21,
            404,
            "Cannot find channel key that satisfies the conditions",
        ),
        (
            Operation::IssueStateless,
            404,
            "Cannot find channel key that satisfies the conditions",
        ),
    ];
    for (op, status, message) in cases {
        let e = parse_as(*op, *status, &format!(r#"{{"message": "{message}"}}"#));
        assert_eq!(e.message(), Some(*message));
        assert_eq!(e.error(), None);
        assert!(e.details().is_empty());
        assert!(e.to_string().contains(message));
    }
}

#[test]
fn error_display_tells_the_user_what_to_do() {
    let bad_secret = api_error::<IssueShortLived>(
        400,
        r#"{"error":"invalid_client","error_description":"invalid client_secret"}"#,
    );
    assert!(
        bad_secret
            .to_string()
            .contains("check the channel ID and channel secret"),
        "{bad_secret}"
    );
    let too_many = api_error::<IssueV21>(
        400,
        r#"{"message":"The maximum number of access tokens has already been issued"}"#,
    );
    assert!(too_many.to_string().contains("revoke unused"), "{too_many}");
    let no_key = api_error::<KeyIdsV21>(
        404,
        r#"{"message":"Cannot find channel key that satisfies the conditions"}"#,
    );
    assert!(no_key.to_string().contains("check the kid"), "{no_key}");
    let exp = api_error::<KeyIdsV21>(
        400,
        r#"{"error":"invalid_client","error_description":"Invalid exp"}"#,
    );
    assert!(exp.to_string().contains("sign a fresh one"), "{exp}");
    let rate = api_error::<IssueShortLived>(429, "");
    assert!(rate.is_retryable());
    assert!(rate.to_string().contains("retry later"), "{rate}");
}

#[test]
fn message_details_are_kept() {
    let e = api_error::<IssueV21>(
        400,
        r#"{"message":"The request body has 1 error(s)","details":[{"message":"must be specified","property":"client_assertion"},{}]}"#,
    );
    assert_eq!(e.details().len(), 2);
    assert_eq!(e.details()[0].property.as_deref(), Some("client_assertion"));
    assert!(e
        .to_string()
        .contains("client_assertion: must be specified"));
}

#[test]
fn non_json_error_bodies_keep_status_and_a_bounded_excerpt() {
    let html = format!(
        "<html><body><h1>502 Bad Gateway</h1>{}</body></html>",
        "x".repeat(5000)
    );
    let e = api_error::<Verify>(502, &html);
    assert!(e.is_retryable());
    let ErrorBody::Unrecognized { excerpt } = e.body() else {
        panic!()
    };
    assert!(excerpt.starts_with("<html><body><h1>502 Bad Gateway"));
    assert!(excerpt.len() <= ErrorBody::EXCERPT_LIMIT);
    assert!(e.to_string().contains("HTTP 502"));
    let empty = api_error::<Verify>(503, "");
    assert!(empty.to_string().contains("empty body"), "{empty}");
}

#[test]
fn request_id_is_optional() {
    let r = http::Response::builder()
        .status(500)
        .body(Vec::new())
        .unwrap();
    let e = Verify::parse_response(&r).unwrap_err();
    assert_eq!(e.request_id(), None);
    assert_eq!(e.status(), 500);
}

#[test]
fn hints_are_looked_up_exactly_not_by_substring() {
    // "Invalid token_exp" contains "exp" but is not an expired assertion.
    let token_exp = api_error::<IssueV21>(
        400,
        r#"{"error":"invalid_request","error_description":"Invalid token_exp"}"#,
    );
    let hint = token_exp.hint().unwrap();
    assert!(hint.contains("token_exp"), "{hint}");
    assert!(!hint.contains("sign a fresh one"), "{hint}");

    // A description LINE does not document gets no hint rather than a guess.
    let unknown = api_error::<IssueV21>(
        400,
        r#"{"error":"invalid_client","error_description":"Invalid exp, and more"}"#,
    );
    assert_eq!(unknown.hint(), None);
    // The same body with another status is another refusal.
    let other_status = api_error::<KeyIdsV21>(
        401,
        r#"{"error":"invalid_client","error_description":"Invalid exp"}"#,
    );
    assert_eq!(other_status.hint(), None);
}

#[test]
fn every_documented_body_has_a_hint() {
    let bodies: &[(u16, &str)] = &[
        (
            400,
            r#"{"error":"invalid_client","error_description":"invalid client_id"}"#,
        ),
        (
            400,
            r#"{"error":"invalid_client","error_description":"invalid client_secret"}"#,
        ),
        (
            400,
            r#"{"error":"invalid_request","error_description":"access_token invalid"}"#,
        ),
        (
            400,
            r#"{"error":"invalid_request","error_description":"access_token in invalid format"}"#,
        ),
        (400, r#"{"error":"invalid_request"}"#),
        (
            400,
            r#"{"error":"invalid_client","error_description":"iss and clientId of key do not match"}"#,
        ),
        (
            400,
            r#"{"error":"invalid_request","error_description":"The access token expired"}"#,
        ),
        (
            400,
            r#"{"error":"invalid_request","error_description":"The access token not JWS"}"#,
        ),
        (
            400,
            r#"{"error":"invalid_request","error_description":"The access token malformed"}"#,
        ),
        (
            400,
            r#"{"error":"invalid_client","error_description":"Invalid exp"}"#,
        ),
        (
            400,
            r#"{"error":"invalid_request","error_description":"Invalid 'client_credentials'."}"#,
        ),
        (
            400,
            r#"{"message":"The maximum number of access tokens has already been issued"}"#,
        ),
        (
            404,
            r#"{"message":"Cannot find channel key that satisfies the conditions"}"#,
        ),
    ];
    for (status, body) in bodies {
        let e = api_error::<IssueV21>(*status, body);
        let hint = e.hint().unwrap_or_else(|| panic!("no hint for {body}"));
        assert!(
            e.to_string()
                .ends_with(&format!("({hint}) [request id 0f5b4c3e-req]")),
            "{e}"
        );
    }
}
