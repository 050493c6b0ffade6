//! LINE's two error shapes, modelled once: parsed here for clients, and encoded here for the
//! emulator, so the two sides cannot disagree about field names.

use super::redact::{drop_cut_run, redact, SCAN_LIMIT};

/// The body of a LINE error response.
///
/// The channel access token endpoints use both of LINE's shapes: OAuth-style
/// `{"error", "error_description"}` (e.g. `invalid_client`) and Messaging-API-style
/// `{"message", "details"}` (e.g. "The maximum number of access tokens has already been issued").
///
/// ```
/// use line_channel_token::{http, Endpoint, ErrorBody, IssueV21};
///
/// let response = http::Response::builder()
///     .status(400)
///     .body(br#"{"message":"The maximum number of access tokens has already been issued"}"#)
///     .unwrap();
/// let err = IssueV21::parse_response(&response).unwrap_err();
/// match err.as_api().unwrap().body() {
///     ErrorBody::Message { message, .. } => assert!(message.starts_with("The maximum")),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorBody {
    /// `{"error": "invalid_client", "error_description": "invalid client_secret"}`.
    OAuth {
        /// `error`: the error code, e.g. `invalid_request`, `invalid_client`.
        error: String,
        /// `error_description`: "Not returned in certain situations".
        error_description: Option<String>,
    },
    /// `{"message": "...", "details": [{"message": "...", "property": "..."}]}`.
    Message {
        /// `message`: the summary.
        message: String,
        /// `details`: per-property problems, often absent.
        details: Vec<ErrorDetail>,
    },
    /// A body in neither shape (an HTML 502 page from a proxy, an empty 429): the first bytes of
    /// it, lossily decoded, at most [`ErrorBody::EXCERPT_LIMIT`] bytes.
    Unrecognized {
        /// The start of the body.
        excerpt: String,
    },
}

/// One entry of a `details` array.
///
/// ```
/// use line_channel_token::{http, Endpoint, Revoke};
///
/// let response = http::Response::builder()
///     .status(400)
///     .body(br#"{"message":"The request body has 1 error(s)","details":[{"message":"must not be empty","property":"access_token"}]}"#)
///     .unwrap();
/// let err = Revoke::parse_response(&response).unwrap_err();
/// let detail = &err.as_api().unwrap().details()[0];
/// assert_eq!(detail.property.as_deref(), Some("access_token"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ErrorDetail {
    /// `message`.
    pub message: Option<String>,
    /// `property`: the request field at fault.
    pub property: Option<String>,
}

/// Both shapes at once, every field optional and of any JSON type: LINE and the proxies in front
/// of it are not always strict, and a body that does not match must still be reported.
#[derive(serde::Deserialize)]
struct RawErrorBody {
    error: Option<serde_json::Value>,
    error_description: Option<serde_json::Value>,
    message: Option<serde_json::Value>,
    #[serde(default)]
    details: Option<Vec<serde_json::Value>>,
}

/// A field's text, with anything credential-like an echoing server put in it redacted.
fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => redact(s),
        other => redact(&other.to_string()),
    }
}

fn non_null(v: Option<&serde_json::Value>) -> Option<&serde_json::Value> {
    v.filter(|v| !v.is_null())
}

impl ErrorBody {
    /// How much of an unrecognised body is kept.
    pub const EXCERPT_LIMIT: usize = 256;

    /// Classifies an error body into one of LINE's two shapes (`error` wins if both are
    /// present), or keeps a bounded excerpt. Never fails.
    pub(crate) fn parse(body: &[u8]) -> ErrorBody {
        if let Ok(raw) = serde_json::from_slice::<RawErrorBody>(body) {
            if let Some(error) = non_null(raw.error.as_ref()) {
                return ErrorBody::OAuth {
                    error: json_text(error),
                    error_description: non_null(raw.error_description.as_ref()).map(json_text),
                };
            }
            if let Some(message) = non_null(raw.message.as_ref()) {
                let details = raw
                    .details
                    .unwrap_or_default()
                    .iter()
                    .map(|d| ErrorDetail {
                        message: non_null(d.get("message")).map(json_text),
                        property: non_null(d.get("property")).map(json_text),
                    })
                    .collect();
                return ErrorBody::Message {
                    message: json_text(message),
                    details,
                };
            }
        }
        ErrorBody::Unrecognized {
            excerpt: excerpt(body, ErrorBody::EXCERPT_LIMIT),
        }
    }

    /// The JSON LINE sends for this body (absent fields omitted, as LINE omits them); an
    /// unrecognised body is sent back as its excerpt.
    #[cfg(feature = "emulator")]
    pub(crate) fn to_json(&self) -> Vec<u8> {
        use serde_json::{json, Map, Value};
        let value = match self {
            ErrorBody::OAuth {
                error,
                error_description,
            } => {
                let mut m = Map::new();
                m.insert("error".into(), json!(error));
                if let Some(d) = error_description {
                    m.insert("error_description".into(), json!(d));
                }
                Value::Object(m)
            }
            ErrorBody::Message { message, details } => {
                let mut m = Map::new();
                m.insert("message".into(), json!(message));
                if !details.is_empty() {
                    let details: Vec<Value> = details
                        .iter()
                        .map(|d| {
                            let mut e = Map::new();
                            if let Some(msg) = &d.message {
                                e.insert("message".into(), json!(msg));
                            }
                            if let Some(p) = &d.property {
                                e.insert("property".into(), json!(p));
                            }
                            Value::Object(e)
                        })
                        .collect();
                    m.insert("details".into(), Value::Array(details));
                }
                Value::Object(m)
            }
            ErrorBody::Unrecognized { excerpt } => return excerpt.clone().into_bytes(),
        };
        serde_json::to_vec(&value).unwrap_or_default()
    }
}

/// At most `limit` bytes of `body`, cut at a character boundary, invalid UTF-8 replaced,
/// credential-like runs redacted (before the cut, so a secret crossing it goes whole).
/// A credential crossing the scan window's end is dropped: its visible part could be too short
/// to look like one.
fn excerpt(body: &[u8], limit: usize) -> String {
    let window = SCAN_LIMIT.max(limit);
    let text = String::from_utf8_lossy(&body[..body.len().min(window)]);
    let text = if body.len() > window {
        drop_cut_run(&text)
    } else {
        &text
    };
    let mut out = redact(text);
    while out.len() > limit {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_bounded_and_lossy() {
        let long = "é".repeat(300);
        let e = excerpt(long.as_bytes(), 256);
        assert!(e.len() <= 256);
        assert!(e.starts_with("éé"));
        assert_eq!(excerpt(&[0xff, b'a'], 10), "\u{fffd}a");
    }

    #[test]
    fn echoed_secrets_are_redacted_in_every_field_and_across_the_excerpt_end() {
        let secret = "0123456789abcdef0123456789abcdef";
        let body = format!(r#"{{"error":"x{secret}","error_description":"got {secret}"}}"#);
        let parsed = format!("{:?}", ErrorBody::parse(body.as_bytes()));
        assert!(!parsed.contains("0123456789ab"), "{parsed}");
        let body = format!(
            r#"{{"message":"{secret}","details":[{{"message":"{secret}","property":"{secret}"}}]}}"#
        );
        let parsed = format!("{:?}", ErrorBody::parse(body.as_bytes()));
        assert!(!parsed.contains("0123456789ab"), "{parsed}");
        // An HTML page whose echoed secret starts just before the excerpt's end.
        let page = format!("<html>{}client_secret={secret}</html>", "x ".repeat(115));
        let parsed = format!("{:?}", ErrorBody::parse(page.as_bytes()));
        assert!(!parsed.contains("0123"), "{parsed}");
    }

    #[cfg(feature = "emulator")]
    proptest::proptest! {
        #[test]
        fn any_body_round_trips(
            error in ".*",
            description in proptest::option::of(".*"),
            message in ".*",
            details in proptest::collection::vec(
                (proptest::option::of(".*"), proptest::option::of(".*")),
                0..3,
            ),
        ) {
            // (Text with a credential-like run would come back redacted: see `redact`; `.*`
            // practically never makes a 20-character run of mixed letters and digits.)
            let oauth = ErrorBody::OAuth { error, error_description: description };
            proptest::prop_assert_eq!(ErrorBody::parse(&oauth.to_json()), oauth);
            let details = details
                .into_iter()
                .map(|(message, property)| ErrorDetail { message, property })
                .collect();
            let message = ErrorBody::Message { message, details };
            proptest::prop_assert_eq!(ErrorBody::parse(&message.to_json()), message);
        }
    }

    #[cfg(feature = "emulator")]
    #[test]
    fn encoding_round_trips_through_parsing() {
        let bodies = [
            ErrorBody::OAuth {
                error: "invalid_client".into(),
                error_description: Some("invalid client_secret".into()),
            },
            ErrorBody::OAuth {
                error: "invalid_request".into(),
                error_description: None,
            },
            ErrorBody::Message {
                message: "The request body has 1 error(s)".into(),
                details: vec![ErrorDetail {
                    message: Some("must be specified".into()),
                    property: Some("client_assertion".into()),
                }],
            },
            ErrorBody::Message {
                message: "Not found".into(),
                details: vec![],
            },
        ];
        for body in bodies {
            assert_eq!(ErrorBody::parse(&body.to_json()), body);
        }
        let oauth = ErrorBody::OAuth {
            error: "invalid_client".into(),
            error_description: Some("Invalid exp".into()),
        };
        assert_eq!(
            oauth.to_json(),
            br#"{"error":"invalid_client","error_description":"Invalid exp"}"#
        );
    }
}
