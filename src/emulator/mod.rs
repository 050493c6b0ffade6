//! A sans-IO emulator of LINE's channel access token API, for offline tests and demos.
//!
//! [`Emulator::handle`] takes the caller's `now` and an `http::Request` and returns the
//! `http::Response` LINE would: the same paths, bodies, limits and error shapes
//! (`shared/reference/line-docs-extracts.md`). All state is in the value; there is no clock,
//! socket or thread. Serve it over HTTP with `examples/line-emulator.rs`, or call it in-process.
//!
//! ```
//! use line_channel_token::emulator::Emulator;
//! use line_channel_token::{ApiBase, ChannelSecret, Endpoint, IssueShortLived, UnixTime};
//!
//! let mut line = Emulator::new();
//! line.add_channel("1234567890", ChannelSecret::new("s3cret"));
//! let secret = ChannelSecret::new("s3cret");
//! let request = IssueShortLived::new("1234567890", &secret).to_request(&ApiBase::default());
//! let response = line.handle(UnixTime::from_secs(1_700_000_000), &request);
//! let token = IssueShortLived::parse_response(&response).unwrap();
//! assert_eq!(token.expires_in, 30 * 24 * 3600);
//! ```
//!
//! Tokens are deterministic for a given seed ([`Emulator::with_seed`]), so tests are
//! reproducible. Stateless tokens are self-describing (channel, expiry and a MAC), like LINE's:
//! the emulator keeps no record of them and cannot revoke them.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use sha2::{Digest, Sha256};

use crate::facts::CLIENT_ASSERTION_TYPE;
use crate::facts::{AUDIENCE, MAX_ASSERTION_TTL, MAX_TOKEN_EXP};
use crate::jose::base64url;
use crate::jose::error::KeyError;
use crate::jose::jwk::PublicJwk;
use crate::jose::jwt::Jwt;
use crate::protocol::endpoints::{Operation, REQUEST_ID_HEADER};
use crate::secret::ChannelSecret;
use crate::time::UnixTime;

use crate::facts::{MAX_ACTIVE_SHORT_LIVED, MAX_ACTIVE_V21};
pub use crate::facts::{SHORT_LIVED_LIFETIME, STATELESS_LIFETIME};

/// The emulated LINE token server. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Emulator {
    seed: [u8; 32],
    counter: u64,
    channels: BTreeMap<String, Channel>,
    /// kid -> channel id, as the Console assigns them.
    kids: HashMap<String, String>,
    faults: HashMap<Operation, (u32, StatusCode)>,
    calls: HashMap<Operation, u64>,
}

#[derive(Debug, Clone)]
struct Channel {
    secret: ChannelSecret,
    keys: BTreeMap<String, PublicJwk>,
    tokens: Vec<StoredToken>,
}

#[derive(Debug, Clone)]
struct StoredToken {
    access_token: String,
    kind: Kind,
    expires_at: Option<UnixTime>,
    revoked: bool,
}

/// The token types the emulator keeps records of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Issued at `/v2/oauth/accessToken`.
    ShortLived,
    /// Issued in the Console; never expires.
    LongLived,
    /// Issued at `/oauth2/v2.1/token`, with its `key_id`.
    V21 {
        /// The `key_id` returned at issuance.
        key_id: String,
    },
}

impl StoredToken {
    fn active(&self, now: UnixTime) -> bool {
        !self.revoked && self.expires_at.is_none_or(|t| now < t)
    }
}

/// A refused administrative call (adding channels, registering keys).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmulatorError {
    /// No channel with that ID was added.
    UnknownChannel(String),
    /// The public key is not acceptable to the Console.
    Key(KeyError),
}

impl fmt::Display for EmulatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmulatorError::UnknownChannel(id) => {
                write!(
                    f,
                    "no channel {id:?} in the emulator: add it with add_channel first"
                )
            }
            EmulatorError::Key(e) => write!(f, "the Console would refuse this public key: {e}"),
        }
    }
}

impl std::error::Error for EmulatorError {}

type Reply = Response<Vec<u8>>;

impl Default for Emulator {
    fn default() -> Self {
        Emulator::new()
    }
}

impl Emulator {
    /// An emulator with no channels and a fixed seed.
    pub fn new() -> Emulator {
        Emulator::with_seed(0)
    }

    /// An emulator whose tokens, key ids and request ids derive from `seed`.
    pub fn with_seed(seed: u64) -> Emulator {
        let mut s = [0u8; 32];
        s.copy_from_slice(&Sha256::digest(seed.to_be_bytes()));
        Emulator {
            seed: s,
            counter: 0,
            channels: BTreeMap::new(),
            kids: HashMap::new(),
            faults: HashMap::new(),
            calls: HashMap::new(),
        }
    }

    /// Adds (or replaces the secret of) a channel.
    pub fn add_channel(&mut self, channel_id: &str, secret: ChannelSecret) {
        match self.channels.get_mut(channel_id) {
            Some(c) => c.secret = secret,
            None => {
                self.channels.insert(
                    channel_id.to_owned(),
                    Channel {
                        secret,
                        keys: BTreeMap::new(),
                        tokens: Vec::new(),
                    },
                );
            }
        }
    }

    /// Registers a public key as the Console does (**Basic settings → Assertion Signing Key**)
    /// and returns the `kid` it assigns. Refuses what the Console refuses: a JWK with a `kid`,
    /// private members, another algorithm, or a modulus other than 2048 bits.
    pub fn register_public_key(
        &mut self,
        channel_id: &str,
        public_jwk_json: &str,
    ) -> Result<String, EmulatorError> {
        let jwk = PublicJwk::from_console_json(public_jwk_json).map_err(EmulatorError::Key)?;
        if !self.channels.contains_key(channel_id) {
            return Err(EmulatorError::UnknownChannel(channel_id.to_owned()));
        }
        let kid = self.uuid();
        self.kids.insert(kid.clone(), channel_id.to_owned());
        if let Some(c) = self.channels.get_mut(channel_id) {
            c.keys.insert(kid.clone(), jwk);
        }
        Ok(kid)
    }

    /// Issues a long-lived token, as only the Console can (one per channel: a new one replaces
    /// the old).
    pub fn issue_long_lived(&mut self, channel_id: &str) -> Result<String, EmulatorError> {
        if !self.channels.contains_key(channel_id) {
            return Err(EmulatorError::UnknownChannel(channel_id.to_owned()));
        }
        let token = self.opaque_token();
        let channel = self
            .channels
            .get_mut(channel_id)
            .ok_or_else(|| EmulatorError::UnknownChannel(channel_id.to_owned()))?;
        for t in channel
            .tokens
            .iter_mut()
            .filter(|t| t.kind == Kind::LongLived)
        {
            t.revoked = true;
        }
        channel.tokens.push(StoredToken {
            access_token: token.clone(),
            kind: Kind::LongLived,
            expires_at: None,
            revoked: false,
        });
        Ok(token)
    }

    /// Makes the next `count` calls of `operation` answer `status` (e.g. 429 or 500) without
    /// touching any state, to exercise retries and backoff.
    pub fn fail_next(&mut self, operation: Operation, count: u32, status: StatusCode) {
        self.faults.insert(operation, (count, status));
    }

    /// How many requests for `operation` have been handled (including injected failures).
    pub fn calls(&self, operation: Operation) -> u64 {
        self.calls.get(&operation).copied().unwrap_or(0)
    }

    /// The active tokens of a channel at `now`: (kind, expiry) pairs, oldest first.
    pub fn active_tokens(&self, channel_id: &str, now: UnixTime) -> Vec<(Kind, Option<UnixTime>)> {
        self.channels
            .get(channel_id)
            .map(|c| {
                c.tokens
                    .iter()
                    .filter(|t| t.active(now))
                    .map(|t| (t.kind.clone(), t.expires_at))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The channel a bearer token authorises at `now`, if any: what a Messaging API endpoint
    /// would check. Works for every token type, stateless included.
    pub fn authorize(&self, now: UnixTime, bearer_token: &str) -> Option<&str> {
        if let Some((channel, expires_at)) = self.open_stateless(bearer_token) {
            return (now < expires_at).then_some(self.channels.get_key_value(&channel)?.0.as_str());
        }
        self.channels.iter().find_map(|(id, c)| {
            c.tokens
                .iter()
                .any(|t| t.access_token == bearer_token && t.active(now))
                .then_some(id.as_str())
        })
    }

    /// Handles one request at `now`, exactly as LINE would answer it. Never panics.
    pub fn handle<B: AsRef<[u8]>>(
        &mut self,
        now: UnixTime,
        request: &Request<B>,
    ) -> Response<Vec<u8>> {
        self.counter = self.counter.wrapping_add(1);
        let request_id = self.request_id();
        let mut reply = self.route(now, request);
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            reply.headers_mut().insert(REQUEST_ID_HEADER, v);
        }
        reply
    }

    fn route<B: AsRef<[u8]>>(&mut self, now: UnixTime, request: &Request<B>) -> Reply {
        let path = request.uri().path();
        let Some(op) = Operation::from_route(request.method(), path) else {
            if Operation::ALL.iter().any(|op| op.path() == path) {
                return message(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed").reply();
            }
            return message(StatusCode::NOT_FOUND, "Not found").reply();
        };
        let calls = self.calls.entry(op).or_default();
        *calls = calls.saturating_add(1);
        if let Some((count, status)) = self.faults.get_mut(&op) {
            if *count > 0 {
                *count -= 1;
                let status = *status;
                return message(
                    status,
                    status.canonical_reason().unwrap_or("Injected failure"),
                )
                .reply();
            }
        }
        let result = params(op, request).and_then(|params| match op {
            Operation::IssueShortLived => self.issue_short_lived(now, &params),
            Operation::Verify => self.verify(now, &params),
            Operation::Revoke => self.revoke(&params),
            Operation::IssueV21 => self.issue_v2_1(now, &params),
            Operation::VerifyV21 => self.verify_v2_1(now, &params),
            Operation::KeyIdsV21 => self.key_ids(now, &params),
            Operation::RevokeV21 => self.revoke_v2_1(&params),
            Operation::IssueStateless => self.issue_stateless(now, &params),
        });
        result.unwrap_or_else(Refusal::reply)
    }

    // ---- endpoints ----

    fn issue_short_lived(&mut self, now: UnixTime, p: &Params) -> Result<Reply, Refusal> {
        p.grant_type()?;
        let channel_id = self.authenticate_secret(p)?;
        let token = self.opaque_token();
        let channel = self.channel_mut(&channel_id)?;
        channel.tokens.retain(|t| t.active(now));
        let short_lived = channel
            .tokens
            .iter()
            .filter(|t| t.kind == Kind::ShortLived)
            .count();
        if short_lived >= MAX_ACTIVE_SHORT_LIVED {
            // "If the maximum is exceeded, the oldest existing channel access token is revoked."
            if let Some(oldest) = channel
                .tokens
                .iter()
                .position(|t| t.kind == Kind::ShortLived)
            {
                channel.tokens.remove(oldest);
            }
        }
        channel.tokens.push(StoredToken {
            access_token: token.clone(),
            kind: Kind::ShortLived,
            expires_at: Some(now + SHORT_LIVED_LIFETIME),
            revoked: false,
        });
        Ok(issued(&token, SHORT_LIVED_LIFETIME.as_secs(), None))
    }

    fn verify(&mut self, now: UnixTime, p: &Params) -> Result<Reply, Refusal> {
        let token = p
            .get("access_token")
            .filter(|t| plausible_token(t))
            .ok_or(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                Some("access_token in invalid format"),
            ))?;
        for (id, c) in &self.channels {
            let found = c
                .tokens
                .iter()
                .find(|t| t.access_token == token && t.active(now));
            if let Some(t) = found.filter(|t| matches!(t.kind, Kind::ShortLived | Kind::LongLived))
            {
                return Ok(token_info(id, t.expires_at, now));
            }
        }
        Err(oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("access_token invalid"),
        ))
    }

    fn revoke(&mut self, p: &Params) -> Result<Reply, Refusal> {
        let token = p
            .get("access_token")
            .filter(|t| plausible_token(t))
            .ok_or(oauth(StatusCode::BAD_REQUEST, "invalid_request", None))?;
        for c in self.channels.values_mut() {
            let revocable = c
                .tokens
                .iter_mut()
                .filter(|t| !matches!(t.kind, Kind::V21 { .. }));
            for t in revocable.filter(|t| t.access_token == token) {
                t.revoked = true;
            }
        }
        Ok(empty_ok())
    }

    fn issue_v2_1(&mut self, now: UnixTime, p: &Params) -> Result<Reply, Refusal> {
        p.grant_type()?;
        let (channel_id, jwt) = self.check_assertion(now, p)?;
        let token_exp = jwt
            .claim_u64("token_exp")
            .filter(|t| (1..=MAX_TOKEN_EXP.as_secs()).contains(t))
            .ok_or(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                Some("Invalid token_exp"),
            ))?;
        let expires_at = now + Duration::from_secs(token_exp);
        let key_id = self.key_id();
        let token = self.jws_token(&channel_id, &key_id, expires_at);
        let channel = self.channel_mut(&channel_id)?;
        channel.tokens.retain(|t| t.active(now));
        let active = channel
            .tokens
            .iter()
            .filter(|t| matches!(t.kind, Kind::V21 { .. }))
            .count();
        if active >= MAX_ACTIVE_V21 {
            return Err(message(
                StatusCode::BAD_REQUEST,
                "The maximum number of access tokens has already been issued",
            ));
        }
        channel.tokens.push(StoredToken {
            access_token: token.clone(),
            kind: Kind::V21 {
                key_id: key_id.clone(),
            },
            expires_at: Some(expires_at),
            revoked: false,
        });
        Ok(issued(&token, token_exp, Some(&key_id)))
    }

    fn verify_v2_1(&mut self, now: UnixTime, p: &Params) -> Result<Reply, Refusal> {
        let token = p.jws_access_token()?;
        for (id, c) in &self.channels {
            let found = c
                .tokens
                .iter()
                .find(|t| t.access_token == token && matches!(t.kind, Kind::V21 { .. }));
            match found {
                Some(t) if t.revoked => break,
                Some(t) if !t.active(now) => {
                    return Err(oauth(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        Some("The access token expired"),
                    ))
                }
                Some(t) => return Ok(token_info(id, t.expires_at, now)),
                None => {}
            }
        }
        Err(oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("access_token invalid"),
        ))
    }

    fn key_ids(&mut self, now: UnixTime, p: &Params) -> Result<Reply, Refusal> {
        let (channel_id, _) = self.check_assertion(now, p)?;
        let kids: Vec<&str> = self
            .channels
            .get(&channel_id)
            .map(|c| {
                c.tokens
                    .iter()
                    .filter(|t| t.active(now))
                    .filter_map(|t| match &t.kind {
                        Kind::V21 { key_id } => Some(key_id.as_str()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(json(StatusCode::OK, &serde_json::json!({ "kids": kids })))
    }

    fn revoke_v2_1(&mut self, p: &Params) -> Result<Reply, Refusal> {
        let channel_id = self.authenticate_secret(p)?;
        let token = p.jws_access_token()?;
        if Jwt::decode_unverified(token).is_err() {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                Some("The access token malformed"),
            ));
        }
        let channel = self.channel_mut(&channel_id)?;
        for t in channel
            .tokens
            .iter_mut()
            .filter(|t| t.access_token == token)
        {
            t.revoked = true;
        }
        Ok(empty_ok())
    }

    fn issue_stateless(&mut self, now: UnixTime, p: &Params) -> Result<Reply, Refusal> {
        let bad_credentials = oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("Invalid 'client_credentials'."),
        );
        p.grant_type().map_err(|_| bad_credentials)?;
        let by_assertion =
            p.get("client_assertion").is_some() || p.get("client_assertion_type").is_some();
        let channel_id = if by_assertion {
            self.check_assertion(now, p)?.0
        } else {
            self.authenticate_secret(p).map_err(|_| bad_credentials)?
        };
        let token = self.seal_stateless(&channel_id, now + STATELESS_LIFETIME);
        Ok(issued(&token, STATELESS_LIFETIME.as_secs(), None))
    }

    fn channel_mut(&mut self, channel_id: &str) -> Result<&mut Channel, Refusal> {
        self.channels
            .get_mut(channel_id)
            .ok_or(invalid_client("invalid client_id"))
    }

    // ---- authentication ----

    fn authenticate_secret(&self, p: &Params) -> Result<String, Refusal> {
        let id = p.get("client_id").unwrap_or("");
        let Some(channel) = self.channels.get(id) else {
            return Err(invalid_client("invalid client_id"));
        };
        let given = p.get("client_secret").unwrap_or("");
        if !constant_time_eq(given.as_bytes(), channel.secret.expose_secret().as_bytes()) {
            return Err(invalid_client("invalid client_secret"));
        }
        Ok(id.to_owned())
    }

    /// Every rule LINE documents for client assertions.
    fn check_assertion(&self, now: UnixTime, p: &Params) -> Result<(String, Jwt), Refusal> {
        if p.get("client_assertion_type") != Some(CLIENT_ASSERTION_TYPE) {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                Some("Invalid client_assertion_type"),
            ));
        }
        let assertion = p.get("client_assertion").unwrap_or("");
        let unverified = Jwt::decode_unverified(assertion).map_err(|_| {
            oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                Some("Invalid client_assertion"),
            )
        })?;
        let no_key = || {
            message(
                StatusCode::NOT_FOUND,
                "Cannot find channel key that satisfies the conditions",
            )
        };
        let kid = unverified.kid().ok_or_else(no_key)?;
        let channel_id = self.kids.get(kid).ok_or_else(no_key)?;
        let key = self
            .channels
            .get(channel_id)
            .and_then(|c| c.keys.get(kid))
            .ok_or_else(no_key)?;
        if unverified.header_str("alg") != Some("RS256") {
            return Err(invalid_client("Invalid alg"));
        }
        if unverified.header_str("typ") != Some("JWT") {
            return Err(invalid_client("Invalid typ"));
        }
        let jwt =
            Jwt::verify_rs256(assertion, key).map_err(|_| invalid_client("Invalid signature"))?;
        if jwt.claim_str("iss") != Some(channel_id.as_str()) {
            return Err(invalid_client("iss and clientId of key do not match"));
        }
        if jwt.claim_str("sub") != jwt.claim_str("iss") {
            return Err(invalid_client("Invalid sub"));
        }
        if jwt.claim_str("aud") != Some(AUDIENCE) {
            return Err(invalid_client("Invalid aud"));
        }
        match jwt.claim_u64("exp") {
            Some(exp) if exp > now.as_secs() && exp <= (now + MAX_ASSERTION_TTL).as_secs() => {}
            _ => return Err(invalid_client("Invalid exp")),
        }
        Ok((channel_id.clone(), jwt))
    }

    // ---- token material ----

    fn next_bytes(&mut self, label: &[u8]) -> [u8; 32] {
        self.counter = self.counter.wrapping_add(1);
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(label);
        h.update(self.counter.to_be_bytes());
        h.finalize().into()
    }

    fn request_id(&mut self) -> String {
        let b = self.next_bytes(b"request-id");
        b[..16].iter().map(|x| format!("{x:02x}")).collect()
    }

    fn uuid(&mut self) -> String {
        let b = self.next_bytes(b"kid");
        let hex: String = b[..16].iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    fn key_id(&mut self) -> String {
        base64url::encode(&self.next_bytes(b"key_id")[..16])
    }

    fn opaque_token(&mut self) -> String {
        let a = self.next_bytes(b"opaque");
        let b = self.next_bytes(b"opaque");
        let mut t = base64url::encode(&a);
        t.push_str(&base64url::encode(&b));
        t
    }

    /// A v2.1 token: JWS-shaped, as LINE's are, and unique.
    fn jws_token(&mut self, channel_id: &str, key_id: &str, expires_at: UnixTime) -> String {
        let header = base64url::encode(br#"{"alg":"HS256"}"#);
        let claims = serde_json::json!({"ver": "2.1", "ctype": "channel", "client_id": channel_id, "key_id": key_id, "exp": expires_at.as_secs()});
        let claims = base64url::encode(claims.to_string().as_bytes());
        let mac = base64url::encode(&self.next_bytes(b"v2.1"));
        format!("{header}.{claims}.{mac}")
    }

    fn stateless_mac(&self, payload: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(b"stateless");
        h.update(payload.as_bytes());
        base64url::encode(&h.finalize())
    }

    fn seal_stateless(&mut self, channel_id: &str, expires_at: UnixTime) -> String {
        let nonce = base64url::encode(&self.next_bytes(b"nonce")[..9]);
        let header = base64url::encode(br#"{"alg":"HS256","typ":"stateless"}"#);
        let claims = serde_json::json!({"client_id": channel_id, "exp": expires_at.as_secs(), "nonce": nonce});
        let payload = format!(
            "{header}.{}",
            base64url::encode(claims.to_string().as_bytes())
        );
        let mac = self.stateless_mac(&payload);
        format!("{payload}.{mac}")
    }

    fn open_stateless(&self, token: &str) -> Option<(String, UnixTime)> {
        let (payload, mac) = token.rsplit_once('.')?;
        if !constant_time_eq(self.stateless_mac(payload).as_bytes(), mac.as_bytes()) {
            return None;
        }
        let jwt = Jwt::decode_unverified(token).ok()?;
        if jwt.header_str("typ") != Some("stateless") {
            return None;
        }
        Some((
            jwt.claim_str("client_id")?.to_owned(),
            UnixTime::from_secs(jwt.claim_u64("exp")?),
        ))
    }
}

// ---- request parameters ----

struct Params(Vec<(String, String)>);

impl Params {
    /// The first value of a parameter.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `access_token` of the v2.1 endpoints, which must look like a JWS.
    fn jws_access_token(&self) -> Result<&str, Refusal> {
        let token = self.get("access_token").unwrap_or("");
        if looks_like_jws(token) {
            Ok(token)
        } else {
            Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                Some("The access token not JWS"),
            ))
        }
    }

    fn grant_type(&self) -> Result<(), Refusal> {
        match self.get("grant_type") {
            Some("client_credentials") => Ok(()),
            Some(_) => Err(oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                None,
            )),
            None => Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                Some("some parameters missed or invalid"),
            )),
        }
    }
}

fn params<B: AsRef<[u8]>>(op: Operation, request: &Request<B>) -> Result<Params, Refusal> {
    let malformed = || {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("some parameters missed or invalid"),
        )
    };
    if op.method() == Method::GET {
        let q = request.uri().query().unwrap_or("");
        return serde_urlencoded::from_str(q)
            .map(Params)
            .map_err(|_| malformed());
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
    if content_type.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("Content-Type must be application/x-www-form-urlencoded"),
        ));
    }
    serde_urlencoded::from_bytes(request.body().as_ref())
        .map(Params)
        .map_err(|_| malformed())
}

fn plausible_token(t: &str) -> bool {
    !t.is_empty() && t.len() <= 4096 && t.bytes().all(|b| b.is_ascii_graphic())
}

fn looks_like_jws(t: &str) -> bool {
    plausible_token(t) && t.split('.').count() == 3 && t.split('.').all(|s| !s.is_empty())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ---- responses ----

fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
    let mut r = Response::new(serde_json::to_vec(value).unwrap_or_default());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A refused request: LINE's status and error body, in one of its two shapes.
#[derive(Debug, Clone, Copy)]
struct Refusal {
    status: StatusCode,
    error: Option<&'static str>,
    text: Option<&'static str>,
}

impl Refusal {
    fn reply(self) -> Reply {
        let body = match (self.error, self.text) {
            (Some(e), Some(d)) => serde_json::json!({"error": e, "error_description": d}),
            (Some(e), None) => serde_json::json!({ "error": e }),
            (None, text) => serde_json::json!({ "message": text.unwrap_or("") }),
        };
        json(self.status, &body)
    }
}

fn oauth(status: StatusCode, error: &'static str, description: Option<&'static str>) -> Refusal {
    Refusal {
        status,
        error: Some(error),
        text: description,
    }
}

fn invalid_client(description: &'static str) -> Refusal {
    oauth(StatusCode::BAD_REQUEST, "invalid_client", Some(description))
}

fn message(status: StatusCode, text: &'static str) -> Refusal {
    Refusal {
        status,
        error: None,
        text: Some(text),
    }
}

fn empty_ok() -> Reply {
    Response::new(Vec::new())
}

fn issued(token: &str, expires_in: u64, key_id: Option<&str>) -> Reply {
    let mut body = serde_json::json!({"access_token": token, "expires_in": expires_in, "token_type": "Bearer"});
    if let Some(k) = key_id {
        body["key_id"] = k.into();
    }
    json(StatusCode::OK, &body)
}

fn token_info(channel_id: &str, expires_at: Option<UnixTime>, now: UnixTime) -> Reply {
    // A long-lived token reports a distant expiry, as LINE's do (~100 years).
    let expires_in = expires_at.map_or(3_138_007_490, |t| (t - now).as_secs());
    json(
        StatusCode::OK,
        &serde_json::json!({"client_id": channel_id, "expires_in": expires_in, "scope": "P CM"}),
    )
}
