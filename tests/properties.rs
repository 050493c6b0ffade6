//! Property tests: encoders round-trip through independent decoders, parsers never panic.

use line_channel_token::emulator::parse_response_as;
use line_channel_token::*;
use proptest::prelude::*;

fn decode_form(s: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(s).unwrap()
}

proptest! {
    #[test]
    fn form_bodies_decode_to_the_same_values(id in ".*", secret in ".*") {
        let s = ChannelSecret::new(secret.clone());
        let req = IssueShortLived::new(&id, &s).to_request(&ApiBase::default());
        let got = decode_form(req.body());
        prop_assert_eq!(got, vec![
            ("grant_type".to_string(), "client_credentials".to_string()),
            ("client_id".to_string(), id),
            ("client_secret".to_string(), secret),
        ]);
    }

    #[test]
    fn query_strings_decode_to_the_same_values(token in ".*") {
        let t = AccessToken::new(token.clone());
        let req = VerifyV21::new(&t).to_request(&ApiBase::new("http://127.0.0.1:1/p").unwrap());
        let q = req.uri().query().unwrap_or("");
        let got: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap();
        prop_assert_eq!(got, vec![("access_token".to_string(), token)]);
    }

    #[test]
    fn every_parser_returns_ok_or_err_for_any_response(
        status in 100u16..1000,
        body in proptest::collection::vec(any::<u8>(), 0..512),
        request_id in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut builder = http::Response::builder().status(status);
        if let Ok(v) = http::HeaderValue::from_bytes(&request_id) {
            builder = builder.header("x-line-request-id", v);
        }
        let r = builder.body(body).unwrap();
        for op in Operation::ALL {
            let parsed = parse_response_as(op, &r).map_err(|e| e.to_string());
            if !(200..300).contains(&status) {
                prop_assert!(parsed.is_err(), "{:?}", op);
            }
        }
        let _ = IssueStateless::parse_response_with_info(&r).map_err(|e| e.to_string());
    }

    #[test]
    fn json_shaped_error_bodies_never_panic(
        error in proptest::option::of(".*"),
        description in proptest::option::of(".*"),
        message in proptest::option::of(".*"),
        status in 400u16..600,
    ) {
        let mut body = serde_json::Map::new();
        if let Some(e) = error { body.insert("error".into(), e.into()); }
        if let Some(d) = description { body.insert("error_description".into(), d.into()); }
        if let Some(m) = message { body.insert("message".into(), m.into()); body.insert("details".into(), serde_json::json!([{"property": 1}, "x", null])); }
        let r = http::Response::builder().status(status).body(serde_json::to_vec(&body).unwrap()).unwrap();
        let e = IssueV21::parse_response(&r).unwrap_err();
        prop_assert_eq!(e.status().as_u16(), status);
        let _ = e.to_string();
    }

    #[test]
    fn api_base_never_panics(base in ".*") {
        if let Ok(api) = ApiBase::new(&base) {
            let token = AccessToken::new("t");
            let req = VerifyV21::new(&token).to_request(&api);
            prop_assert!(req.uri().to_string().starts_with(api.as_str()));
        }
    }
}
