//! The whole adapter between this crate and ureq 3: a request goes out, bytes come back.
//! Any other client (reqwest, hyper, a WASM `fetch`) needs the same dozen lines.

use std::time::Duration;

/// An agent that hands 4xx/5xx responses back instead of turning them into errors, so the
/// crate can parse LINE's error bodies.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent()
}

/// Sends one request and reads the whole response body.
pub fn send(
    agent: &ureq::Agent,
    request: http::Request<Vec<u8>>,
) -> Result<http::Response<Vec<u8>>, ureq::Error> {
    let (parts, mut body) = agent.run(request)?.into_parts();
    let bytes = body.read_to_vec()?;
    Ok(http::Response::from_parts(parts, bytes))
}
