//! From request to handler: the route, injected faults, and the request's parameters.

use http::header::CONTENT_TYPE;
use http::{Method, Request};

use super::reply::{self, Reply};
use super::Emulator;
use crate::facts::GRANT_TYPE;
use crate::protocol::operation::Operation;
use crate::protocol::refusal::{self, Refusal};
use crate::protocol::wire::FORM_CONTENT_TYPE;
use crate::time::UnixTime;

impl Emulator {
    pub(super) fn route<B: AsRef<[u8]>>(&mut self, now: UnixTime, request: &Request<B>) -> Reply {
        let path = request.uri().path();
        let Some(op) = Operation::from_route(request.method(), path) else {
            if Operation::ALL.iter().any(|op| op.path() == path) {
                return reply::refusal(refusal::METHOD_NOT_ALLOWED);
            }
            return reply::refusal(refusal::NOT_FOUND);
        };
        let calls = self.calls.entry(op).or_default();
        *calls = calls.saturating_add(1);
        // An injected fault answers before any parameter is read, so it changes no state: the
        // retry that follows sees the emulator exactly as the failed call left it.
        if let Some((count, status)) = self.faults.get_mut(&op) {
            if *count > 0 {
                *count -= 1;
                return reply::injected_failure(*status);
            }
        }
        let result = Params::of(op, request).and_then(|params| match op {
            Operation::IssueShortLived => self.issue_short_lived(now, &params),
            Operation::Verify => self.verify(now, &params),
            Operation::Revoke => self.revoke(&params),
            Operation::IssueV21 => self.issue_v21(now, &params),
            Operation::VerifyV21 => self.verify_v21(now, &params),
            Operation::KeyIdsV21 => self.key_ids_v21(now, &params),
            Operation::RevokeV21 => self.revoke_v21(&params),
            Operation::IssueStateless => self.issue_stateless(now, &params),
        });
        result.unwrap_or_else(reply::refusal)
    }
}

/// A request's form fields (the body of a POST, the query of a GET), in order.
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    /// Reads the fields where `op` carries them. A POST must say it is a form, as LINE's SDKs
    /// do; LINE's own answer to a missing content type is not documented, so the emulator
    /// names the problem.
    fn of<B: AsRef<[u8]>>(op: Operation, request: &Request<B>) -> Result<Params, Refusal> {
        if op.method() == Method::GET {
            let q = request.uri().query().unwrap_or("");
            return serde_urlencoded::from_str(q)
                .map(Params)
                .map_err(|_| refusal::PARAMETERS_MISSED);
        }
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        if content_type.as_deref() != Some(FORM_CONTENT_TYPE) {
            return Err(refusal::CONTENT_TYPE);
        }
        serde_urlencoded::from_bytes(request.body().as_ref())
            .map(Params)
            .map_err(|_| refusal::PARAMETERS_MISSED)
    }

    /// The first value of a parameter (a repeated parameter's later values are ignored).
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `grant_type` must be present and `client_credentials`.
    pub(super) fn grant_type(&self) -> Result<(), Refusal> {
        match self.get("grant_type") {
            Some(GRANT_TYPE) => Ok(()),
            Some(_) => Err(refusal::UNSUPPORTED_GRANT_TYPE),
            None => Err(refusal::PARAMETERS_MISSED),
        }
    }
}
