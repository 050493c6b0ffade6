//! The command line, declared once with clap's derive: every command, the options it takes and
//! their help. clap parses; [`parse`] turns what it found into [`Options`] (read by each
//! option's long name, with the environment as fallback) and every clap error into one
//! usage line that never repeats a secret-looking argument.

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, Parser, Subcommand};
use line_channel_token::{MAX_ASSERTION_TTL, MAX_TOKEN_EXP};

use crate::commands::{self, Output};
use crate::failure::{usage, Failure};
use crate::options::{self, Options};
use crate::refusal;
use crate::scrub;

/// What the command line asks for.
pub enum Parsed {
    /// Print this (help, version, completions) and exit 0.
    Print(Output),
    /// Run the command `name` with these options; `api_base` was given before the command.
    Run {
        name: String,
        api_base: Option<String>,
        options: Options,
    },
}

// The fields below are read through `ArgMatches` by long name (`Options`), not through these
// structs: the structs are the declaration. The commands table (`commands.rs`) runs them. The
// commands that call one endpoint each are declared in `endpoints.rs`, with their rows.
#[allow(dead_code)]
#[derive(Parser)]
#[command(
    name = "line-token",
    version,
    about = "line-token: issue, verify and revoke LINE channel access tokens",
    subcommand_required = true,
    subcommand_value_name = "COMMAND",
    override_usage = "line-token [--api-base URL] COMMAND [OPTIONS]\n       \
                      line-token help COMMAND     the options of one command \
                      (also COMMAND --help)\n       \
                      line-token completions bash|zsh|fish"
)]
pub struct Cli {
    /// where LINE is (default https://api.line.me); also after the command
    #[arg(long, value_name = "URL")]
    api_base: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[allow(dead_code, clippy::large_enum_variant)] // a declaration: never built at run time
#[derive(Subcommand)]
enum Command {
    /// The commands that call one LINE endpoint each (`endpoints.rs`).
    #[command(flatten)]
    Endpoint(crate::endpoints::EndpointCommand),
    /// write a new private JWK (mode 0600) and the Console public JWK; print the latter
    #[command(override_usage = "line-token keygen --private FILE --public FILE")]
    Keygen {
        #[command(flatten)]
        files: KeygenFiles,
        #[command(flatten)]
        api: ApiBase,
    },
    /// print the Console public JWK of a private key
    #[command(override_usage = "line-token public-jwk --key FILE")]
    PublicJwk {
        #[command(flatten)]
        key: Key,
        #[command(flatten)]
        api: ApiBase,
    },
    /// print a signed client assertion (JWT) alone
    #[command(
        override_usage = "line-token assertion --channel-id ID --kid KID --key FILE \
                                [--token-exp SECS] [--ttl SECS]"
    )]
    Assertion {
        #[command(flatten)]
        channel: ChannelId,
        #[command(flatten)]
        kid: Kid,
        #[command(flatten)]
        key: Key,
        #[command(flatten)]
        token_exp: TokenExp,
        #[command(flatten)]
        ttl: Ttl,
        #[command(flatten)]
        api: ApiBase,
    },
    /// print a valid access token alone, kept in --cache (one machine) or --store (a fleet)
    #[command(override_usage = "line-token token --channel-id ID \
                                (--channel-secret-file FILE|- | --kid KID --key FILE)\n         \
                                (--cache FILE [--lock-timeout SECS] [--force-refresh]\n          \
                                | --store redis[s]://HOST:PORT/DB [--store-ca FILE] \
                                [--store-prefix P]\n           \
                                [--store-lease SECS] [--store-budget N] \
                                [--rejected-token-file FILE|-])\n         \
                                [--type TYPE] [--token-exp SECS] [--refresh-before SECS]")]
    Token {
        #[command(flatten)]
        channel: ChannelId,
        #[command(flatten)]
        secret: Secret,
        #[command(flatten)]
        kid: Kid,
        #[command(flatten)]
        key: Key,
        #[command(flatten)]
        token_options: TokenOptions,
        #[command(flatten)]
        token_exp: TokenExp,
        #[command(flatten)]
        api: ApiBase,
    },
    /// print a shell completion script: line-token completions bash > /etc/bash_completion.d/…
    Completions {
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
}

#[derive(Args)]
pub(crate) struct ApiBase {
    /// where LINE is (default https://api.line.me); also before the command
    #[arg(long, value_name = "URL")]
    api_base: Option<String>,
}

#[derive(Args)]
pub(crate) struct ChannelId {
    /// the channel ID
    #[arg(long, value_name = "ID")]
    channel_id: Option<String>,
}

#[derive(Args)]
pub(crate) struct Secret {
    /// a file holding the channel secret; - reads it from stdin
    #[arg(long, value_name = "FILE|-")]
    channel_secret_file: Option<String>,
    /// the channel secret itself (argv is visible to other users: prefer the file)
    #[arg(long, value_name = "SECRET")]
    channel_secret: Option<String>,
}

#[derive(Args)]
pub(crate) struct TokenIn {
    /// a file holding the access token; - reads it from stdin
    #[arg(long, value_name = "FILE|-")]
    token_file: Option<String>,
    /// the access token itself (argv is visible to other users: prefer the file)
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
}

#[derive(Args)]
pub(crate) struct Kid {
    /// the key ID the Console gave the public key
    #[arg(long, value_name = "KID")]
    kid: Option<String>,
}

#[derive(Args)]
pub(crate) struct Key {
    /// the private key file (JWK or PEM); $LINE_PRIVATE_KEY may hold the key itself
    #[arg(long, value_name = "FILE|-")]
    key: Option<String>,
}

#[derive(Args)]
pub(crate) struct TokenExp {
    #[arg(long, value_name = "SECS", help = token_exp_help())]
    token_exp: Option<String>,
}

#[derive(Args)]
struct Ttl {
    #[arg(long, value_name = "SECS", help = ttl_help())]
    ttl: Option<String>,
}

#[derive(Args)]
struct KeygenFiles {
    /// where to write the new private JWK (mode 0600)
    #[arg(long, value_name = "FILE")]
    private: Option<String>,
    /// where to write the Console public JWK
    #[arg(long, value_name = "FILE")]
    public: Option<String>,
}

#[derive(Args)]
struct TokenOptions {
    /// stateless (default), v2.1 or short-lived
    #[arg(long = "type", value_name = "TYPE")]
    kind: Option<String>,
    /// the cache file, shared by every run (mode 0600, in a directory only you can write)
    #[arg(long, value_name = "FILE")]
    cache: Option<String>,
    /// wait at most this long for another run holding the cache (default 30), then exit 3
    #[arg(long, value_name = "SECS")]
    lock_timeout: Option<String>,
    /// issue a new token even if the cached one is still good
    #[arg(long)]
    force_refresh: bool,
    /// share the token with every process on every machine through Redis (instead of
    /// --cache): redis://[USER:PASSWORD@]HOST:PORT/DB, rediss:// (TLS), redis+unix:///PATH
    #[arg(long, value_name = "redis://HOST:PORT/DB")]
    store: Option<String>,
    /// the Redis key prefix (default line-token); keys are PREFIX:CHANNEL_ID:TYPE
    #[arg(long, value_name = "PREFIX")]
    store_prefix: Option<String>,
    /// with --store rediss://: trust only the CA certificates (PEM) in FILE (default: the
    /// system's, or $SSL_CERT_FILE)
    #[arg(long, value_name = "FILE")]
    store_ca: Option<String>,
    /// with --store: the Messaging API refused this token (401); the fleet drops it if it is
    /// still the shared one (once, whoever reports it), then a new one is printed
    #[arg(long, value_name = "FILE|-")]
    rejected_token_file: Option<String>,
    /// with --store: how long one process may refresh before another takes over (default 30)
    #[arg(long, value_name = "SECS")]
    store_lease: Option<String>,
    /// with --store, short-lived and v2.1: at most N of the fleet's tokens out (default 20)
    #[arg(long, value_name = "N")]
    store_budget: Option<String>,
    /// refresh when the token has less than this left (default: a third of its life)
    #[arg(long, value_name = "SECS")]
    refresh_before: Option<String>,
}

/// LINE's limits, filled in from the crate's facts (written once there).
fn token_exp_help() -> String {
    let secs = MAX_TOKEN_EXP.as_secs();
    format!(
        "v2.1 token lifetime (default and maximum {secs}, {} days)",
        secs / 86_400
    )
}

fn ttl_help() -> String {
    format!(
        "assertion lifetime (default {}, the maximum)",
        MAX_ASSERTION_TTL.as_secs()
    )
}

/// The whole command line as clap knows it, with the help text that is built rather than
/// declared: the environment fallback of each option, the exit codes, the secrets advice.
pub fn command() -> clap::Command {
    Cli::command()
        .max_term_width(commands::HELP_WIDTH)
        .after_help(commands::help_epilogue())
        .mut_subcommands(|sub| {
            sub.after_help(commands::exit_codes_section())
                .mut_args(|arg| {
                    // The word after an option is its value, as a user means it, even one
                    // that starts with a dash: a PEM key's "-----BEGIN", which must reach the
                    // check that refuses key text where a file was asked for.
                    let arg = if arg.get_action().takes_values() && arg.get_long().is_some() {
                        arg.allow_hyphen_values(true)
                    } else {
                        arg
                    };
                    match arg.get_long().and_then(options::env_of) {
                        Some(env) => {
                            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
                            arg.help(format!("{help} [${env}]"))
                        }
                        None => arg,
                    }
                })
        })
}

/// Parses `args` (without the program name).
pub fn parse(args: Vec<std::ffi::OsString>) -> Result<Parsed, Failure> {
    let mut cmd = command();
    let named = command_named(&args);
    let matches =
        match cmd.try_get_matches_from_mut(std::iter::once("line-token".into()).chain(args)) {
            Ok(m) => m,
            Err(e) => return clap_outcome(e, named.as_deref()),
        };
    let api_base = given_value(&matches, "api_base")?;
    let Some((name, sub)) = matches.subcommand() else {
        return Err(usage("no command given; see line-token --help"));
    };
    if name == "completions" {
        let shell = *sub
            .get_one::<clap_complete::Shell>("shell")
            .ok_or_else(|| usage("completions needs a shell: bash, zsh or fish"))?;
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut cmd, "line-token", &mut script);
        let text = String::from_utf8_lossy(&script).trim_end().to_owned();
        return Ok(Parsed::Print(text.into()));
    }
    let declared = cmd
        .find_subcommand(name)
        .ok_or_else(|| usage(format!("unknown command {}", scrub::shown(name))))?;
    let mut given = Vec::new();
    for arg in declared.get_arguments() {
        let (Some(long), id) = (arg.get_long(), arg.get_id().as_str()) else {
            continue;
        };
        if sub.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        let value = if arg.get_action().takes_values() {
            given_value(sub, id)?.unwrap_or_default()
        } else {
            String::new()
        };
        if arg.get_action().takes_values() && value.is_empty() {
            // An unset shell variable (`--token "$TOKEN"`) is a usage error here, not a
            // request LINE refuses with exit 1.
            return Err(usage(format!("--{long} needs a value, not an empty one")));
        }
        given.push((long.to_owned(), value));
    }
    let longs: Vec<&str> = declared
        .get_arguments()
        .filter_map(|a| a.get_long())
        .collect();
    let options = Options::new(given, &longs)?;
    Ok(Parsed::Run {
        name: name.to_owned(),
        api_base,
        options,
    })
}

fn given_value(m: &ArgMatches, id: &str) -> Result<Option<String>, Failure> {
    match m.try_get_one::<String>(id) {
        Ok(v) => Ok(v.cloned()),
        Err(_) => Err(usage(format!("cannot read the value of {id}"))),
    }
}

/// The command the arguments name, for "see `line-token help COMMAND`" in a refusal.
fn command_named(args: &[std::ffi::OsString]) -> Option<String> {
    args.iter()
        .filter_map(|a| a.to_str())
        .find(|a| *a == "completions" || commands::find(a).is_some())
        .map(str::to_owned)
}

/// Help and version are printed; anything else clap refused is one usage line.
fn clap_outcome(e: clap::Error, command: Option<&str>) -> Result<Parsed, Failure> {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let text = e.to_string().trim_end().to_owned();
            Ok(Parsed::Print(text.into()))
        }
        _ => Err(usage(refusal::line(&e, command))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declaration_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn help_lines_quote_lines_limits() {
        assert_eq!(
            token_exp_help(),
            "v2.1 token lifetime (default and maximum 2592000, 30 days)"
        );
        assert_eq!(ttl_help(), "assertion lifetime (default 1800, the maximum)");
    }

    #[test]
    fn every_command_runs_and_every_row_is_a_command() {
        let cmd = command();
        for sub in cmd.get_subcommands() {
            let name = sub.get_name();
            assert!(
                name == "completions" || commands::find(name).is_some(),
                "{name} has no row in the commands table"
            );
        }
        for row in commands::all() {
            assert!(cmd.find_subcommand(row.name).is_some(), "{}", row.name);
        }
    }
}
