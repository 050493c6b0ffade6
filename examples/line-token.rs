//! `line-token`: every LINE channel access token operation from the command line.
//!
//! ```text
//! cargo run --example line-token -- --help
//! ```
//!
//! Exit codes: 0 success (one JSON object, or the bare token/JWT, on stdout); 1 LINE answered
//! with an error (one line on stderr); 2 usage or local error (missing option, bad key file,
//! server unreachable).

#[path = "support/transport.rs"]
mod transport;

use std::collections::HashMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use line_channel_token::*;

const HELP: &str = "\
line-token: issue, verify and revoke LINE channel access tokens

USAGE:
  line-token [--api-base URL] COMMAND [OPTIONS]

  --api-base URL          default: $LINE_API_BASE, else https://api.line.me

COMMANDS:
  issue-short-lived --channel-id ID --channel-secret SECRET
  issue-stateless   --channel-id ID --channel-secret SECRET
  issue-stateless   --channel-id ID --kid KID --key FILE          (JWT form)
  issue-v2.1        --channel-id ID --kid KID --key FILE [--token-exp SECS]   (default 30 days)
  verify            --token TOKEN        (POST /v2/oauth/verify: short-lived, long-lived)
  verify-v2.1       --token TOKEN        (GET /oauth2/v2.1/verify)
  revoke            --token TOKEN        (short-lived, long-lived)
  revoke-v2.1       --channel-id ID --channel-secret SECRET --token TOKEN
  key-ids           --channel-id ID --kid KID --key FILE
  keygen            --private FILE --public FILE
                    writes a new private JWK (mode 0600) and the Console public JWK,
                    prints the public JWK
  public-jwk        --key FILE           prints the Console public JWK of a private key file
  assertion         --channel-id ID --kid KID --key FILE [--token-exp SECS] [--ttl SECS]
                    prints the signed client assertion (JWT) alone
  token             --channel-id ID (--channel-secret SECRET | --kid KID --key FILE)
                    [--type stateless|v2.1|short-lived] (default stateless) [--token-exp SECS]
                    --cache FILE [--refresh-before SECS]
                    prints a valid access token alone, reusing the cached one while it is
                    outside the refresh window

ENVIRONMENT (used when the option is not given):
  --channel-id $LINE_CHANNEL_ID    --channel-secret $LINE_CHANNEL_SECRET
  --token $LINE_CHANNEL_ACCESS_TOKEN    --kid $LINE_KEY_ID    --key $LINE_PRIVATE_KEY_FILE

KEY FILES: a private JWK, a PKCS#8 PEM (BEGIN PRIVATE KEY) or a PKCS#1 PEM
(BEGIN RSA PRIVATE KEY), RSA 2048 bits.

OUTPUT: one JSON object with LINE's field names on stdout (revoke prints {}), exit 0.
  LINE answered with an error: one line on stderr, exit 1.
  Usage or local error (missing option, bad key, server unreachable): exit 2.
";

/// How the command failed, and so its exit code.
enum Failure {
    /// LINE answered with an error: exit 1.
    Line(String),
    /// Usage or local error: exit 2.
    Local(String),
}

fn local(message: impl Display) -> Failure {
    Failure::Local(message.to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match run(&args) {
        Ok(out) => {
            println!("{out}");
            0
        }
        Err(Failure::Line(m)) => {
            eprintln!("line-token: {m}");
            1
        }
        Err(Failure::Local(m)) => {
            eprintln!("line-token: {m}");
            2
        }
    };
    std::process::exit(code);
}

/// Parsed `--name value` options.
struct Options {
    values: HashMap<String, String>,
}

const ENV: &[(&str, &str)] = &[
    ("channel-id", "LINE_CHANNEL_ID"),
    ("channel-secret", "LINE_CHANNEL_SECRET"),
    ("token", "LINE_CHANNEL_ACCESS_TOKEN"),
    ("kid", "LINE_KEY_ID"),
    ("key", "LINE_PRIVATE_KEY_FILE"),
    ("api-base", "LINE_API_BASE"),
];

impl Options {
    fn parse(args: &[String], allowed: &[&str]) -> Result<Options, Failure> {
        let mut values = HashMap::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(local(format!("unexpected argument {arg:?}; see --help")));
            };
            let (name, value) = match name.split_once('=') {
                Some((n, v)) => (n.to_owned(), v.to_owned()),
                None => {
                    let v = it
                        .next()
                        .ok_or_else(|| local(format!("--{name} needs a value; see --help")))?;
                    (name.to_owned(), v.clone())
                }
            };
            if !allowed.contains(&name.as_str()) && name != "api-base" {
                return Err(local(format!(
                    "unknown option --{name} for this command; see --help"
                )));
            }
            if values.insert(name.clone(), value).is_some() {
                return Err(local(format!("--{name} given twice")));
            }
        }
        Ok(Options { values })
    }

    /// The option, or its environment fallback.
    fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.values.get(name) {
            return Some(v.clone());
        }
        let var = ENV.iter().find(|(n, _)| *n == name)?.1;
        std::env::var(var).ok().filter(|v| !v.is_empty())
    }

    fn given(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    fn require(&self, name: &str) -> Result<String, Failure> {
        self.get(name).ok_or_else(|| {
            let env = ENV
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| format!(" (or set ${v})"))
                .unwrap_or_default();
            local(format!("missing --{name}{env}; see --help"))
        })
    }

    fn seconds(&self, name: &str, default: Option<u64>) -> Result<Option<Duration>, Failure> {
        match self.get(name) {
            None => Ok(default.map(Duration::from_secs)),
            Some(v) => v
                .parse::<u64>()
                .map(|s| Some(Duration::from_secs(s)))
                .map_err(|_| {
                    local(format!(
                        "--{name} takes a whole number of seconds, not {v:?}"
                    ))
                }),
        }
    }
}

fn run(args: &[String]) -> Result<String, Failure> {
    // Global options come before the command.
    let mut rest = args;
    let mut api_base_flag = None;
    while let Some(first) = rest.first() {
        if first == "--help" || first == "-h" || first == "help" {
            return Ok(HELP.trim_end().to_owned());
        } else if first == "--api-base" {
            api_base_flag = Some(
                rest.get(1)
                    .ok_or_else(|| local("--api-base needs a URL"))?
                    .clone(),
            );
            rest = &rest[2..];
        } else if let Some(v) = first.strip_prefix("--api-base=") {
            api_base_flag = Some(v.to_owned());
            rest = &rest[1..];
        } else {
            break;
        }
    }
    let Some((command, rest)) = rest.split_first() else {
        return Err(local("no command given; see --help"));
    };
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(HELP.trim_end().to_owned());
    }
    let allowed: &[&str] = match command.as_str() {
        "issue-short-lived" => &["channel-id", "channel-secret"],
        "issue-stateless" => &["channel-id", "channel-secret", "kid", "key"],
        "issue-v2.1" => &["channel-id", "kid", "key", "token-exp"],
        "verify" | "verify-v2.1" | "revoke" => &["token"],
        "revoke-v2.1" => &["channel-id", "channel-secret", "token"],
        "key-ids" => &["channel-id", "kid", "key"],
        "keygen" => &["private", "public"],
        "public-jwk" => &["key"],
        "assertion" => &["channel-id", "kid", "key", "token-exp", "ttl"],
        "token" => &[
            "channel-id",
            "channel-secret",
            "kid",
            "key",
            "type",
            "token-exp",
            "cache",
            "refresh-before",
        ],
        other => return Err(local(format!("unknown command {other:?}; see --help"))),
    };
    let opts = Options::parse(rest, allowed)?;
    let api_text = api_base_flag
        .or_else(|| opts.values.get("api-base").cloned())
        .or_else(|| {
            std::env::var("LINE_API_BASE")
                .ok()
                .filter(|v| !v.is_empty())
        });
    let api = match api_text {
        Some(t) => ApiBase::new(&t).map_err(local)?,
        None => ApiBase::default(),
    };
    let cli = Cli {
        api,
        agent: transport::agent(),
    };
    let now = UnixTime::from(SystemTime::now());

    match command.as_str() {
        "issue-short-lived" => {
            let (id, secret) = (
                opts.require("channel-id")?,
                ChannelSecret::new(opts.require("channel-secret")?),
            );
            cli.json(&IssueShortLived::new(&id, &secret))
        }
        "issue-stateless" => {
            let id = opts.require("channel-id")?;
            let jwt_form = opts.given("kid")
                || opts.given("key")
                || (!opts.given("channel-secret") && opts.get("channel-secret").is_none());
            if jwt_form {
                let assertion = sign(&opts, &id, None, None, now)?;
                cli.json(&IssueStateless::by_assertion(&assertion))
            } else {
                let secret = ChannelSecret::new(opts.require("channel-secret")?);
                cli.json(&IssueStateless::by_secret(&id, &secret))
            }
        }
        "issue-v2.1" => {
            let id = opts.require("channel-id")?;
            let token_exp = opts.seconds("token-exp", Some(MAX_TOKEN_EXP.as_secs()))?;
            let assertion = sign(&opts, &id, token_exp, None, now)?;
            cli.json(&IssueV21::new(&assertion))
        }
        "key-ids" => {
            let id = opts.require("channel-id")?;
            let assertion = sign(&opts, &id, None, None, now)?;
            cli.json(&KeyIdsV21::new(&assertion))
        }
        "verify" => cli.json(&Verify::new(&AccessToken::new(opts.require("token")?))),
        "verify-v2.1" => cli.json(&VerifyV21::new(&AccessToken::new(opts.require("token")?))),
        "revoke" => cli.json(&Revoke::new(&AccessToken::new(opts.require("token")?))),
        "revoke-v2.1" => {
            let id = opts.require("channel-id")?;
            let secret = ChannelSecret::new(opts.require("channel-secret")?);
            let token = AccessToken::new(opts.require("token")?);
            cli.json(&RevokeV21::new(&id, &secret, &token))
        }
        "keygen" => keygen(&opts),
        "public-jwk" => Ok(load_key(&opts.require("key")?)?
            .public_jwk()
            .to_json_pretty()),
        "assertion" => {
            let id = opts.require("channel-id")?;
            let token_exp = opts.seconds("token-exp", None)?;
            let ttl = opts.seconds("ttl", None)?;
            Ok(sign(&opts, &id, token_exp, ttl, now)?
                .expose_secret()
                .to_owned())
        }
        "token" => token_command::run(&cli, &opts, now),
        _ => Err(local("unreachable: command list checked above")),
    }
}

struct Cli {
    api: ApiBase,
    agent: ureq::Agent,
}

impl Cli {
    /// Calls an endpoint and renders its output as LINE's JSON.
    fn json<E>(&self, endpoint: &E) -> Result<String, Failure>
    where
        E: Endpoint,
        E::Output: serde::Serialize,
    {
        let output = self.call(endpoint)?;
        let value = serde_json::to_value(&output).map_err(local)?;
        // Revoke's output is `()`: print `{}`.
        let value = if value.is_null() {
            serde_json::json!({})
        } else {
            value
        };
        serde_json::to_string_pretty(&value).map_err(local)
    }

    fn call<E: Endpoint>(&self, endpoint: &E) -> Result<E::Output, Failure> {
        call(&self.api, endpoint, |req| transport::send(&self.agent, req)).map_err(|e| match e {
            CallError::Transport(t) => local(format!("could not reach {}: {t}", self.api)),
            CallError::Protocol(p @ Error::Api(_)) => Failure::Line(p.to_string()),
            CallError::Protocol(p) => local(p),
        })
    }
}

fn load_key(path: &str) -> Result<SigningKey, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| local(format!("cannot read key file {path}: {e}")))?;
    SigningKey::parse(&text).map_err(|e| local(format!("{path}: {e}")))
}

fn sign(
    opts: &Options,
    channel_id: &str,
    token_exp: Option<Duration>,
    ttl: Option<Duration>,
    now: UnixTime,
) -> Result<ClientAssertion, Failure> {
    let key = load_key(&opts.require("key")?)?;
    let mut builder = AssertionBuilder::new(channel_id, opts.require("kid")?);
    if let Some(t) = token_exp {
        builder = builder.token_exp(t);
    }
    if let Some(t) = ttl {
        builder = builder.ttl(t);
    }
    builder.sign(&key, now, &mut OsRng).map_err(local)
}

fn keygen(opts: &Options) -> Result<String, Failure> {
    let private = PathBuf::from(opts.require("private")?);
    let public = PathBuf::from(opts.require("public")?);
    for p in [&private, &public] {
        if p.exists() {
            return Err(local(format!(
                "{} already exists; remove it or choose another path",
                p.display()
            )));
        }
    }
    let key = SigningKey::generate(&mut OsRng).map_err(local)?;
    write_private(&private, key.to_private_jwk().as_bytes())?;
    let jwk = key.public_jwk().to_json_pretty();
    std::fs::write(&public, format!("{jwk}\n"))
        .map_err(|e| local(format!("cannot write {}: {e}", public.display())))?;
    Ok(jwk)
}

/// Creates a new file readable by its owner only.
fn write_private(path: &Path, contents: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| local(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(contents)
        .and_then(|_| file.write_all(b"\n"))
        .map_err(|e| local(format!("cannot write {}: {e}", path.display())))
}

/// `token`: a valid access token from a cache file shared by every process on the machine.
mod token_command {
    use super::*;
    use line_channel_token::cache::{CacheConfig, CacheState, Credentials, Poll, TokenCache};
    use std::fs::{File, OpenOptions};
    use std::io::Write;

    /// The cache file: the crate's `CacheState` under a format marker.
    #[derive(serde::Serialize, serde::Deserialize)]
    struct CacheFile {
        format: String,
        state: CacheState,
    }

    const FORMAT: &str = "line-channel-token/cache/v1";

    pub fn run(cli: &Cli, opts: &Options, now: UnixTime) -> Result<String, Failure> {
        let channel_id = opts.require("channel-id")?;
        let kind = opts.get("type").unwrap_or_else(|| "stateless".into());
        let use_jwt =
            opts.given("kid") || opts.given("key") || opts.get("channel-secret").is_none();
        let credentials = match (kind.as_str(), use_jwt) {
            ("stateless", false) => Credentials::stateless_by_secret(
                &channel_id,
                ChannelSecret::new(opts.require("channel-secret")?),
            ),
            ("stateless", true) => Credentials::stateless_by_jwt(
                &channel_id,
                opts.require("kid")?,
                load_key(&opts.require("key")?)?,
            ),
            ("short-lived", _) => Credentials::short_lived(
                &channel_id,
                ChannelSecret::new(opts.require("channel-secret")?),
            ),
            ("v2.1", _) => {
                let token_exp = opts
                    .seconds("token-exp", Some(MAX_TOKEN_EXP.as_secs()))?
                    .unwrap_or(MAX_TOKEN_EXP);
                // Check token_exp now, before any file is touched.
                AssertionBuilder::new(&channel_id, "kid")
                    .token_exp(token_exp)
                    .claims(now)
                    .map_err(local)?;
                Credentials::v2_1(
                    &channel_id,
                    opts.require("kid")?,
                    load_key(&opts.require("key")?)?,
                    token_exp,
                )
            }
            (other, _) => {
                return Err(local(format!(
                    "--type is stateless, v2.1 or short-lived, not {other:?}"
                )))
            }
        };
        let mut config = CacheConfig::for_lifetime(credentials.expected_lifetime());
        if let Some(before) = opts.seconds("refresh-before", None)? {
            if before >= credentials.expected_lifetime() {
                return Err(local(format!(
                    "--refresh-before {}s is not shorter than the token's lifetime ({}s)",
                    before.as_secs(),
                    credentials.expected_lifetime().as_secs()
                )));
            }
            config.refresh_before = before;
        }
        let path = PathBuf::from(opts.require("cache")?);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| local(format!("cannot create {}: {e}", dir.display())))?;
        }
        // One process at a time per cache file: the others wait here, then find the token
        // the first one wrote, so N processes issue one token, not N.
        let _lock = lock(&path)?;
        let mut state = read_state(&path);
        if let Some(s) = state.as_mut() {
            // Under the lock, an in-flight marker is a crashed process's: drop it. A
            // non-retryable failure was probably fixed by the user re-running: try again.
            s.in_flight = None;
            if s.last_failure.as_ref().is_some_and(|f| !f.retryable) {
                s.last_failure = None;
                s.retry_at = None;
            }
        }
        let mut cache = match state {
            Some(s) => TokenCache::restore(cli.api.clone(), credentials, config, s),
            None => TokenCache::with_config(cli.api.clone(), credentials, config),
        };
        let before = cache.state().clone();
        let result = drive(cli, &mut cache, now);
        if *cache.state() != before {
            write_state(&path, cache.state())?;
        }
        result
    }

    fn drive(cli: &Cli, cache: &mut TokenCache, now: UnixTime) -> Result<String, Failure> {
        for _ in 0..3 {
            match cache.poll(now, &mut OsRng) {
                Poll::Ready(token) => return Ok(token.expose_secret().to_owned()),
                Poll::Refresh(mut refresh) => {
                    match transport::send(&cli.agent, std::mem::take(&mut refresh.request)) {
                        Ok(response) => {
                            if let Err(e) =
                                cache.handle_response(refresh.ticket, now, &response, &mut OsRng)
                            {
                                if let Some(token) = cache.token(now) {
                                    eprintln!("line-token: warning: refresh failed, the cached token is still valid: {e}");
                                    return Ok(token.expose_secret().to_owned());
                                }
                                return Err(match e {
                                    Error::Api(_) => Failure::Line(e.to_string()),
                                    other => local(other),
                                });
                            }
                        }
                        Err(e) => {
                            cache.handle_transport_failure(refresh.ticket, now, &mut OsRng);
                            if let Some(token) = cache.token(now) {
                                eprintln!("line-token: warning: {} unreachable ({e}); the cached token is still valid", cli.api);
                                return Ok(token.expose_secret().to_owned());
                            }
                            return Err(local(format!("could not reach {}: {e}", cli.api)));
                        }
                    }
                }
                Poll::Wait(until) => {
                    return Err(local(format!(
                        "backing off after failed refreshes; try again after {} (Unix time)",
                        until.as_secs()
                    )))
                }
                Poll::Failed(f) => return Err(Failure::Line(f.to_string())),
            }
        }
        Err(local("no token after three attempts"))
    }

    fn lock(path: &Path) -> Result<File, Failure> {
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                local(format!(
                    "cannot open lock file {}: {e}",
                    PathBuf::from(&lock_path).display()
                ))
            })?;
        file.lock()
            .map_err(|e| local(format!("cannot lock {}: {e}", path.display())))?;
        Ok(file)
    }

    /// The saved state, or `None` for a missing, corrupt or foreign file (replaced later).
    fn read_state(path: &Path) -> Option<CacheState> {
        let bytes = std::fs::read(path).ok()?;
        match serde_json::from_slice::<CacheFile>(&bytes) {
            Ok(f) if f.format == FORMAT => Some(f.state),
            _ => {
                eprintln!(
                    "line-token: warning: {} is not a line-token cache; replacing it",
                    path.display()
                );
                None
            }
        }
    }

    /// Writes to a temporary file (mode 0600) and renames it over the cache: a crash leaves
    /// either the old file or the new one, never a torn one.
    fn write_state(path: &Path, state: &CacheState) -> Result<(), Failure> {
        let json = serde_json::to_vec_pretty(&CacheFile {
            format: FORMAT.into(),
            state: state.clone(),
        })
        .map_err(local)?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".tmp{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let fail = |e: std::io::Error| local(format!("cannot write {}: {e}", path.display()));
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(fail)?;
        file.write_all(&json)
            .and_then(|_| file.sync_all())
            .map_err(fail)?;
        std::fs::rename(&tmp, path).map_err(fail)
    }
}
