//! The whole adapter between this crate and reqwest 0.12 (async): the same dozen lines as
//! the ureq one, awaited. reqwest hands 4xx/5xx responses back as responses, so LINE's error
//! bodies reach the crate.

use std::time::Duration;

/// A client for a server on this machine (the examples' embedded emulator): no proxy,
/// whatever the environment says. A client reaching LINE would keep the proxy settings.
///
/// # Errors
///
/// reqwest's, if its TLS backend cannot start.
pub fn loopback_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
}

/// Sends one request and reads the whole response body.
///
/// # Errors
///
/// reqwest's: no connection, a timeout, a body cut short.
pub async fn send(
    client: &reqwest::Client,
    request: http::Request<Vec<u8>>,
) -> Result<http::Response<Vec<u8>>, reqwest::Error> {
    let response = client.execute(reqwest::Request::try_from(request)?).await?;
    let (status, headers) = (response.status(), response.headers().clone());
    let mut out = http::Response::new(response.bytes().await?.to_vec());
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}
