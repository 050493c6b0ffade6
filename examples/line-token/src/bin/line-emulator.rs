//! `line-emulator`: LINE's channel access token API, emulated, on 127.0.0.1.
//!
//! ```text
//! line-emulator --port 8080 --channel 1234567890:s3cret --public-key public.jwk.json
//! ```
//!
//! Prints one JSON line per registered key, `{"channel_id": "...", "kid": "..."}`, then serves
//! until killed. Point any client at `http://127.0.0.1:PORT` (e.g. `LINE_API_BASE`).

use std::sync::{Arc, Mutex};

use line_channel_token::emulator::Emulator;
use line_channel_token::ChannelSecret;
use support::http_server;

const HELP: &str = "\
line-emulator: serve an emulated LINE channel access token API on 127.0.0.1

USAGE:
  line-emulator --port PORT --channel ID:SECRET [--public-key FILE ...] [--channel ID:SECRET ...]

  --port PORT          TCP port on 127.0.0.1 (0 picks a free one)
  --channel ID:SECRET  a channel and its secret; repeat for more channels
  --public-key FILE    a public JWK to register on the channel named before it, as the
                       LINE Developers Console would; its kid is printed
  --long-lived         also issue a long-lived token for each channel (printed)
  --seed N             seed for deterministic tokens and key ids (default 0)

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
    let addr = http_server::serve(
        Arc::new(Mutex::new(emulator)),
        port,
        http_server::system_clock(),
    )
    .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    for line in lines {
        println!("{line}");
    }
    eprintln!("line-emulator: listening on http://{addr}");
    loop {
        std::thread::park();
    }
}
