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
//! Layout: `args.rs` declares the commands and options (clap), `refusal.rs` words what clap
//! refuses; `endpoints.rs` the commands that call one endpoint each (declaration, row and
//! code); `commands.rs` the table of what each command runs; `options.rs` what was given, with
//! the environment fallbacks; `secrets.rs` where secrets come from; `scrub.rs` how they are
//! kept in; `failure.rs` the exit codes; `net.rs` the way out to LINE; `token.rs` with
//! `cache_file.rs` and `files.rs` the shared file cache; `fleet.rs` with
//! `support::redis_store` (examples/support) the Redis store a fleet shares (`token --store`).

#![forbid(unsafe_code)]

mod args;
mod cache_file;
mod commands;
mod endpoints;
mod failure;
mod files;
mod fleet;
mod handlers;
mod net;
mod options;
mod refusal;
mod scrub;
mod secrets;
mod time_text;
mod token;

use std::io::Write;

use line_channel_token::ApiBase;

use crate::commands::Output;
use crate::failure::{usage, Failure};

fn main() {
    let code = match run() {
        Ok(output) => {
            print_warnings(&output.warnings);
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

/// Each warning on its own stderr line, scrubbed.
pub(crate) fn print_warnings(warnings: &[String]) {
    for w in warnings {
        let _ = writeln!(std::io::stderr(), "line-token: warning: {}", scrub::line(w));
    }
}

fn run() -> Result<Output, Failure> {
    let (name, api_base, opts) = match args::parse(std::env::args_os().skip(1).collect())? {
        args::Parsed::Print(output) => return Ok(output),
        args::Parsed::Run {
            name,
            api_base,
            options,
        } => (name, api_base, options),
    };
    // Given before and after the command is a usage error, not "the last one wins" (a script
    // that appends its own would silently lose to the caller's).
    if api_base.is_some() && opts.given("api-base") {
        return Err(usage("--api-base given twice"));
    }
    let command = commands::find(&name).ok_or_else(|| usage("unknown command"))?;
    let api = match api_base.or_else(|| opts.get("api-base")) {
        Some(text) => ApiBase::new(&text).map_err(failure::local)?,
        None => ApiBase::default(),
    };
    if command.network {
        net::check_proxy_env()?;
    }
    (command.run)(&net::Net::new(api), &opts)
}
