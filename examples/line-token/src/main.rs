//! `line-token`: every LINE channel access token operation from the command line.
//!
//! ```text
//! line-token --help      # cargo install --path examples/line-token
//! ```
//!
//! Exit codes (the table is `failure::EXIT_CODES`): 0 success; 1 LINE refused (a
//! non-retryable 4xx); 2 usage or local error; 3 worth retrying (LINE unreachable, timeout,
//! 429, 5xx, lock timeout). Output is one JSON object or a bare token on stdout; an error is
//! exactly one line on stderr, with every secret the CLI knows scrubbed from it.
//!
//! Layout: `commands.rs` is the command table (help, options, dispatch); `options.rs` the
//! option table; `secrets.rs` where secrets come from; `scrub.rs` how they are kept in;
//! `failure.rs` the exit codes; `net.rs` the way out to LINE; `token.rs` with
//! `cache_file.rs` and `files.rs` the shared file cache; `fleet.rs` with
//! `support::redis_store` (examples/support) the Redis store a fleet shares (`token --store`).

#![forbid(unsafe_code)]

mod cache_file;
mod commands;
mod failure;
mod files;
mod fleet;
mod handlers;
mod net;
mod options;
mod scrub;
mod secrets;
mod time_text;
mod token;

use std::io::Write;

use line_channel_token::ApiBase;

use crate::commands::Output;
use crate::failure::{usage, Failure};
use crate::options::Options;

fn main() {
    let code = match run() {
        Ok(output) => {
            for w in &output.warnings {
                let _ = writeln!(std::io::stderr(), "line-token: warning: {}", scrub::line(w));
            }
            let mut stdout = std::io::stdout().lock();
            match writeln!(stdout, "{}", output.text).and_then(|()| stdout.flush()) {
                Ok(()) => 0,
                // The reader went away (`| head`): nothing to say, and no one to say it to.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 2,
                Err(e) => {
                    let _ = writeln!(std::io::stderr(), "line-token: cannot write stdout: {e}");
                    2
                }
            }
        }
        Err(failure) => {
            let _ = writeln!(
                std::io::stderr(),
                "line-token: {}",
                scrub::line(failure.message())
            );
            failure.exit_code()
        }
    };
    std::process::exit(code);
}

fn run() -> Result<Output, Failure> {
    let mut args = Vec::new();
    for (i, arg) in std::env::args_os().skip(1).enumerate() {
        let arg = arg
            .into_string()
            .map_err(|_| usage(format!("argument {} is not UTF-8 text", i + 1)))?;
        args.push(arg);
    }
    // Global options come before the command.
    let mut rest = &args[..];
    let mut api_base = None;
    while let Some(first) = rest.first() {
        match first.as_str() {
            "--help" | "-h" => return Ok(commands::help().into()),
            "--version" | "-V" => {
                return Ok(format!("line-token {}", env!("CARGO_PKG_VERSION")).into())
            }
            "--api-base" => {
                let v = rest.get(1).ok_or_else(|| usage("--api-base needs a URL"))?;
                set_once(&mut api_base, v)?;
                rest = &rest[2..];
            }
            other => match other.strip_prefix("--api-base=") {
                Some(v) => {
                    set_once(&mut api_base, v)?;
                    rest = &rest[1..];
                }
                None => break,
            },
        }
    }
    let Some((name, rest)) = rest.split_first() else {
        return Err(usage("no command given; see line-token --help"));
    };
    if name == "help" {
        return match rest {
            [] => Ok(commands::help().into()),
            [topic] => commands::find(topic)
                .map(|c| commands::command_help(c).into())
                .ok_or_else(|| unknown_command(topic)),
            _ => Err(usage("help takes one command name")),
        };
    }
    let command = commands::find(name).ok_or_else(|| unknown_command(name))?;
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(commands::command_help(command).into());
    }
    let opts = Options::parse(command.name, command.options, rest)?;
    if api_base.is_some() && opts.given("api-base") {
        return Err(usage("--api-base given twice"));
    }
    let api = match api_base.or_else(|| opts.get("api-base")) {
        Some(text) => ApiBase::new(&text).map_err(failure::local)?,
        None => ApiBase::default(),
    };
    if command.network {
        net::check_proxy_env()?;
    }
    (command.run)(&net::Net::new(api), &opts)
}

/// The global `--api-base`: given twice is a usage error, as it is after the command, not
/// "the last one wins" (a script that appends its own would silently lose to the caller's).
fn set_once(api_base: &mut Option<String>, value: &str) -> Result<(), Failure> {
    if api_base.is_some() {
        return Err(usage("--api-base given twice"));
    }
    *api_base = Some(value.to_owned());
    Ok(())
}

fn unknown_command(name: &str) -> Failure {
    usage(format!(
        "unknown command {}; see line-token --help",
        scrub::shown(name)
    ))
}
