//! The whole adapter between this crate and ureq 3: a request goes out, bytes come back.
//! Any other client (reqwest, hyper, a WASM `fetch`) needs the same dozen lines.

use std::time::Duration;

/// An agent that hands 4xx/5xx responses back instead of turning them into errors, so the
/// crate can parse LINE's error bodies. It honours the proxy variables (`HTTPS_PROXY`,
/// `NO_PROXY`, ...), as a client reaching LINE across the internet should.
pub fn agent() -> ureq::Agent {
    config().build().new_agent()
}

/// [`agent`] for a server on this machine (the demo's embedded emulator): no proxy, whatever
/// the environment says, or a developer behind a corporate proxy would send it loopback traffic.
pub fn loopback_agent() -> ureq::Agent {
    config().proxy(None).build().new_agent()
}

/// The time one request may take, from connecting to the last byte of the answer.
pub const TIMEOUT: Duration = Duration::from_secs(30);

fn config() -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
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
