//! The command table: one row per command drives its help, the options it accepts, and what
//! runs. `--help`, `help COMMAND`, parsing and dispatch all read this table.

use crate::failure::{Failure, EXIT_CODES};
use crate::handlers;
use crate::net::Net;
use crate::options::{spec, Options};

/// What a successful command prints: `text` on stdout, `warnings` on stderr.
pub struct Output {
    pub text: String,
    pub warnings: Vec<String>,
}

impl From<String> for Output {
    fn from(text: String) -> Output {
        Output {
            text,
            warnings: Vec::new(),
        }
    }
}

/// One command.
pub struct Command {
    pub name: &'static str,
    /// The usage line after the name.
    pub synopsis: &'static str,
    /// What it does, for `--help`.
    pub about: &'static str,
    /// The options it takes (`--api-base` is always allowed).
    pub options: &'static [&'static str],
    /// Whether it may talk to LINE: only then must the proxy variables be usable.
    pub network: bool,
    pub run: fn(&Net, &Options) -> Result<Output, Failure>,
}

const SECRET: &[&str] = &["channel-id", "channel-secret-file", "channel-secret"];
const JWT: &[&str] = &["channel-id", "kid", "key"];

/// The table.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "issue-short-lived",
        network: true,
        synopsis: "--channel-id ID --channel-secret-file FILE|-",
        about: "issue a 30-day short-lived token (POST /v2/oauth/accessToken)",
        options: SECRET,
        run: handlers::issue_short_lived,
    },
    Command {
        name: "issue-stateless",
        network: true,
        synopsis: "--channel-id ID (--channel-secret-file FILE|- | --kid KID --key FILE)",
        about: "issue a 15-minute stateless token, by secret or JWT (POST /oauth2/v3/token)",
        options: &[
            "channel-id",
            "channel-secret-file",
            "channel-secret",
            "kid",
            "key",
        ],
        run: handlers::issue_stateless,
    },
    Command {
        name: "issue-v2.1",
        network: true,
        synopsis: "--channel-id ID --kid KID --key FILE [--token-exp SECS]",
        about: "issue a v2.1 token, 30 days unless --token-exp (POST /oauth2/v2.1/token)",
        options: &["channel-id", "kid", "key", "token-exp"],
        run: handlers::issue_v21,
    },
    Command {
        name: "verify",
        network: true,
        synopsis: "--token-file FILE|-",
        about: "verify a short-lived or long-lived token (POST /v2/oauth/verify)",
        options: &["token-file", "token"],
        run: handlers::verify,
    },
    Command {
        name: "verify-v2.1",
        network: true,
        synopsis: "--token-file FILE|-",
        about: "verify a v2.1 or stateless token (GET /oauth2/v2.1/verify)",
        options: &["token-file", "token"],
        run: handlers::verify_v21,
    },
    Command {
        name: "revoke",
        network: true,
        synopsis: "--token-file FILE|-",
        about: "revoke a short-lived or long-lived token (POST /v2/oauth/revoke)",
        options: &["token-file", "token"],
        run: handlers::revoke,
    },
    Command {
        name: "revoke-v2.1",
        network: true,
        synopsis: "--channel-id ID --channel-secret-file FILE|- --token-file FILE|-",
        about: "revoke a v2.1 token (POST /oauth2/v2.1/revoke)",
        options: &[
            "channel-id",
            "channel-secret-file",
            "channel-secret",
            "token-file",
            "token",
        ],
        run: handlers::revoke_v21,
    },
    Command {
        name: "key-ids",
        network: true,
        synopsis: "--channel-id ID --kid KID --key FILE",
        about: "list the key IDs of valid v2.1 tokens (GET /oauth2/v2.1/tokens/kid)",
        options: JWT,
        run: handlers::key_ids,
    },
    Command {
        name: "keygen",
        network: false,
        synopsis: "--private FILE --public FILE",
        about: "write a new private JWK (mode 0600) and the Console public JWK; print the latter",
        options: &["private", "public"],
        run: handlers::keygen,
    },
    Command {
        name: "public-jwk",
        network: false,
        synopsis: "--key FILE",
        about: "print the Console public JWK of a private key",
        options: &["key"],
        run: handlers::public_jwk,
    },
    Command {
        name: "assertion",
        network: false,
        synopsis: "--channel-id ID --kid KID --key FILE [--token-exp SECS] [--ttl SECS]",
        about: "print a signed client assertion (JWT) alone",
        options: &["channel-id", "kid", "key", "token-exp", "ttl"],
        run: handlers::assertion,
    },
    Command {
        name: "token",
        network: true,
        synopsis: "--channel-id ID (--channel-secret-file FILE|- | --kid KID --key FILE) \
                   (--cache FILE [--lock-timeout SECS] [--force-refresh] | \
                   --store redis[s]://HOST:PORT/DB [--store-ca FILE] [--store-prefix P] \
                   [--store-lease SECS] [--store-budget N]) \
                   [--type TYPE] [--token-exp SECS] [--refresh-before SECS]",
        about: "print a valid access token alone, kept in --cache (one machine) or --store \
                (a fleet, through Redis) for every process sharing it",
        options: &[
            "channel-id",
            "channel-secret-file",
            "channel-secret",
            "kid",
            "key",
            "type",
            "token-exp",
            "cache",
            "store",
            "store-prefix",
            "store-ca",
            "store-lease",
            "store-budget",
            "refresh-before",
            "lock-timeout",
            "force-refresh",
        ],
        run: crate::token::run,
    },
];

/// The command of that name.
pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// `line-token --help`.
pub fn help() -> String {
    let mut out = String::from(
        "line-token: issue, verify and revoke LINE channel access tokens\n\n\
         USAGE:\n  line-token [--api-base URL] COMMAND [OPTIONS]\n  \
         line-token help COMMAND     the options of one command\n  \
         line-token --version\n\nCOMMANDS:\n",
    );
    for c in COMMANDS {
        out.push_str(&format!(
            "  {:<19}{}\n  {:<19}{}\n",
            c.name, c.about, "", c.synopsis
        ));
    }
    out.push_str(
        "\nSECRETS: give them in files, stdin (-) or the environment. Arguments are visible to \
         every user\nof the machine (ps, /proc), so --channel-secret and --token are a last resort.\n  \
         channel secret  --channel-secret-file FILE|-, $LINE_CHANNEL_SECRET_FILE, $LINE_CHANNEL_SECRET\n  \
         access token    --token-file FILE|-, $LINE_CHANNEL_ACCESS_TOKEN\n  \
         signing key     --key FILE|-, $LINE_PRIVATE_KEY_FILE, or $LINE_PRIVATE_KEY holding the key\n                  \
         itself (a private JWK, PKCS#8 or PKCS#1 PEM; RSA 2048 bits)\n\n\
         ENVIRONMENT (used when the option is not given):\n",
    );
    for o in crate::options::OPTIONS {
        if let Some(env) = o.env {
            out.push_str(&format!("  --{:<20} ${env}\n", o.name));
        }
    }
    out.push_str(
        "  a proxy                $ALL_PROXY, $HTTPS_PROXY or $HTTP_PROXY, the first set, http:// or\n\
         \x20                        https:// only ($NO_PROXY: hosts reached directly)\n\
         \nOUTPUT: one JSON object with LINE's field names on stdout (revoke prints {}); \
         token and\nassertion print the bare token. Errors: exactly one line on stderr.\n\n\
         EXIT CODES:\n",
    );
    out.push_str(&exit_codes());
    out
}

/// `line-token help COMMAND`.
pub fn command_help(c: &Command) -> String {
    let mut out = format!(
        "line-token {}: {}\n\nUSAGE:\n  line-token [--api-base URL] {} {}\n\nOPTIONS:\n",
        c.name, c.about, c.name, c.synopsis
    );
    for name in c.options.iter().chain(["api-base"].iter()) {
        let Some(o) = spec(name) else { continue };
        let left = match o.value {
            Some(v) => format!("--{} {v}", o.name),
            None => format!("--{}", o.name),
        };
        let env = o.env.map(|e| format!(" [${e}]")).unwrap_or_default();
        out.push_str(&format!("  {left:<28} {}{env}\n", o.help_line()));
    }
    out.push_str("\nEXIT CODES:\n");
    out.push_str(&exit_codes());
    out
}

fn exit_codes() -> String {
    EXIT_CODES
        .iter()
        .map(|(code, meaning)| format!("  {code}  {meaning}\n"))
        .collect()
}
