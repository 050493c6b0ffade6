//! `line-emulator`: LINE's channel access token API, emulated, on 127.0.0.1.
//!
//! ```text
//! line-emulator --port 8080 --channel 1234567890:s3cret --public-key public.jwk.json
//! ```
//!
//! Prints one JSON line per registered key, `{"channel_id": "...", "kid": "..."}`, then serves
//! until killed. Point any client at `http://127.0.0.1:PORT` (e.g. `LINE_API_BASE`).

use std::io::Write;
use std::sync::{Arc, Mutex};

use line_channel_token::emulator::Emulator;
use line_channel_token::jwt::Jwt;
use line_channel_token::{ChannelSecret, Operation, UnixTime};
use support::http_server;

const HELP: &str = "\
line-emulator: serve an emulated LINE channel access token API on 127.0.0.1

USAGE:
  line-emulator --port PORT --channel ID:SECRET [--public-key FILE ...] [--channel ID:SECRET ...]

  --port PORT          TCP port on 127.0.0.1; 0 picks a free one, and the address is
                       the stderr line \"line-emulator: listening on http://127.0.0.1:PORT\"
  --channel ID:SECRET  a channel and its secret; repeat for more channels
  --public-key FILE    a public JWK to register on the channel named before it, as the
                       LINE Developers Console would; its kid is printed
  --long-lived         also issue a long-lived token for each channel (printed)
  --seed N             seed for deterministic tokens and key ids (default 0)
  --log                after the lines above, one JSON line on stdout per request answered:
                       {\"time\", \"operation\" (LINE's operationId), \"status\", \"channel\"}
                       (never a secret or a token), e.g. to count issuances

Prints one JSON line per registered key: {\"channel_id\": \"...\", \"kid\": \"...\"},
and logs the listening address to stderr. Serves until killed.
";

fn main() {
    if let Err(e) = run() {
        eprintln!("line-emulator: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{HELP}");
        return Ok(());
    }
    let mut port: Option<u16> = None;
    let mut seed = 0u64;
    let mut long_lived = false;
    let mut log = false;
    let mut steps: Vec<(String, String)> = Vec::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or(format!("{flag} needs a value; see --help"))
        };
        match flag.as_str() {
            "--port" => {
                port = Some(
                    value()?
                        .parse()
                        .map_err(|_| "--port takes a number from 0 to 65535")?,
                )
            }
            "--seed" => {
                seed = value()?
                    .parse()
                    .map_err(|_| "--seed takes a whole number")?
            }
            "--channel" | "--public-key" => steps.push((flag.clone(), value()?)),
            "--long-lived" => long_lived = true,
            "--log" => log = true,
            other => return Err(format!("unknown option {other:?}; see --help")),
        }
    }
    let port = port.ok_or("missing --port; see --help")?;
    let mut emulator = Emulator::with_seed(seed);
    let mut current: Option<String> = None;
    let mut lines = Vec::new();
    for (flag, value) in steps {
        if flag == "--channel" {
            let (id, secret) = value
                .split_once(':')
                .filter(|(id, s)| !id.is_empty() && !s.is_empty())
                .ok_or("--channel takes ID:SECRET")?;
            emulator.add_channel(id, ChannelSecret::new(secret));
            if long_lived {
                let token = emulator.issue_long_lived(id).map_err(|e| e.to_string())?;
                lines.push(
                    serde_json::json!({"channel_id": id, "long_lived_token": token}).to_string(),
                );
            }
            current = Some(id.to_owned());
        } else {
            let channel = current
                .as_deref()
                .ok_or("--public-key must follow the --channel it belongs to")?;
            let jwk =
                std::fs::read_to_string(&value).map_err(|e| format!("cannot read {value}: {e}"))?;
            let kid = emulator
                .register_public_key(channel, &jwk)
                .map_err(|e| format!("{value}: {e}"))?;
            lines.push(serde_json::json!({"channel_id": channel, "kid": kid}).to_string());
        }
    }
    if current.is_none() {
        return Err("give at least one --channel ID:SECRET".into());
    }
    // The start lines go out before the first request can be logged.
    for line in lines {
        println!("{line}");
    }
    let observe: http_server::Observe = if log {
        Arc::new(log_line)
    } else {
        Arc::new(|_, _, _| {})
    };
    let addr = http_server::serve_observed(
        Arc::new(Mutex::new(emulator)),
        port,
        http_server::system_clock(),
        observe,
    )
    .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    eprintln!("line-emulator: listening on http://{addr}");
    loop {
        std::thread::park();
    }
}

/// `--log`: one JSON line per answered request. The channel comes from the request's
/// `client_id`, or the unverified `iss` of its client assertion, and only if it is a channel
/// ID (digits): nothing else from the request is written, so no secret or token can be.
fn log_line(now: UnixTime, request: &http::Request<Vec<u8>>, response: &http::Response<Vec<u8>>) {
    let operation = Operation::ALL
        .into_iter()
        .find(|op| op.method() == request.method() && op.path() == request.uri().path())
        .map(Operation::line_operation_id);
    let line = serde_json::json!({
        "time": now.to_string(),
        "operation": operation,
        "status": response.status().as_u16(),
        "channel": channel_of(request),
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

fn channel_of(request: &http::Request<Vec<u8>>) -> Option<String> {
    // A POST's form is its body; a GET's (v2.1 verify, key IDs) its query.
    let form: Vec<(String, String)> = match request.body().is_empty() {
        false => serde_urlencoded::from_bytes(request.body()).ok()?,
        true => serde_urlencoded::from_str(request.uri().query()?).ok()?,
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let id = match field("client_id") {
        Some(id) => id.to_owned(),
        None => Jwt::decode_unverified(field("client_assertion")?)
            .ok()?
            .claim_str("iss")?
            .to_owned(),
    };
    (!id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}
