//! The one way out to LINE: every request's secrets are registered for scrubbing before it
//! leaves, and every response body is scrubbed before the library parses or excerpts it, so
//! a proxy that echoes the request cannot put a secret into a message or a file.

use line_channel_token::{call, ApiBase, Endpoint};

use crate::failure::{self, local, usage, Failure};
use crate::scrub;
use support::transport;

/// The API base and an HTTP agent.
pub struct Net {
    pub api: ApiBase,
    agent: ureq::Agent,
}

/// Request fields that carry secrets (form bodies and query strings).
const SECRET_FIELDS: &[&str] = &["client_secret", "client_assertion", "access_token"];

impl Net {
    pub fn new(api: ApiBase) -> Net {
        Net {
            api,
            agent: transport::agent(),
        }
    }

    /// Sends one request; the body that comes back is already scrubbed.
    pub fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, ureq::Error> {
        self.send_within(request, None)
    }

    /// [`Net::send`], over within `timeout` if given (a fleet's lease bounds its calls).
    pub fn send_within(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Option<std::time::Duration>,
    ) -> Result<http::Response<Vec<u8>>, ureq::Error> {
        register_secrets(&request);
        // Redirects are not followed: LINE's token endpoints never redirect, and a followed
        // 302 turns a POST into a GET, whose `200 {}` from a login page or captive portal
        // would read as "revoked". The 3xx comes back as an answer instead (exit 2).
        let request = self.agent.configure_request(request).max_redirects(0);
        let request = match timeout {
            Some(t) => request.timeout_global(Some(t)),
            None => request,
        }
        .build();
        let response = transport::send(&self.agent, request)?;
        Ok(response.map(|body| scrub::bytes(&body)))
    }

    /// Calls an endpoint.
    pub fn call<E: Endpoint>(&self, endpoint: &E) -> Result<E::Output, Failure> {
        call(&self.api, endpoint, |req| self.send(req))
            .map_err(|e| failure::from_call(&self.api, e))
    }

    /// Calls an endpoint and renders its output as LINE's JSON (`{}` for revoke's nothing).
    pub fn json<E>(&self, endpoint: &E) -> Result<String, Failure>
    where
        E: Endpoint,
        E::Output: serde::Serialize,
    {
        let output = self.call(endpoint)?;
        let value = serde_json::to_value(&output).map_err(local)?;
        let value = if value.is_null() {
            serde_json::json!({})
        } else {
            value
        };
        let json = serde_json::to_string_pretty(&value).map_err(local)?;
        // LINE's fields are server text, and stdout is often a terminal.
        Ok(scrub::json_for_terminal(&json))
    }
}

fn register_secrets(request: &http::Request<Vec<u8>>) {
    let mut fields: Vec<(String, String)> =
        serde_urlencoded::from_bytes(request.body()).unwrap_or_default();
    if let Some(query) = request.uri().query() {
        fields
            .extend(serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default());
    }
    for (name, value) in fields {
        if SECRET_FIELDS.contains(&name.as_str()) {
            scrub::register(&value);
        }
    }
    if let Some(bearer) = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        scrub::register(bearer);
    }
}

/// The proxy variables, in the order ureq reads them.
const PROXY_VARS: &[&str] = &[
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
];

/// The first proxy variable set must name a proxy the agent can use. ureq skips one it cannot
/// parse and tries the next, down to no proxy at all, and, built without its `socks-proxy`
/// feature, takes a SOCKS URL and then connects directly: either way a user who set a proxy
/// would reach LINE around it without a word. The value is never shown: it may hold a password.
pub fn check_proxy_env() -> Result<(), Failure> {
    for var in PROXY_VARS {
        let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty()) else {
            continue;
        };
        let value = value
            .into_string()
            .map_err(|_| usage(format!("${var} is set but is not UTF-8 text")))?;
        let fix = "give http://HOST:PORT or https://HOST:PORT, or unset it";
        let proxy = ureq::Proxy::new(&value).map_err(|_| {
            usage(format!(
                "${var} is not a proxy URL (not shown: it may hold a password); {fix}"
            ))
        })?;
        return match proxy.protocol() {
            ureq::ProxyProtocol::Http | ureq::ProxyProtocol::Https => Ok(()),
            _ => Err(usage(format!(
                "${var} names a SOCKS proxy, which line-token cannot use; {fix}"
            ))),
        };
    }
    Ok(())
}
