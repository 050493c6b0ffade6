//! The commands that call one LINE endpoint each, in one place: each one's declaration (its
//! options and help, naming `(METHOD /path)`), its row of the commands table and what it runs.
//! `args.rs` flattens [`EndpointCommand`] into the command line; `commands.rs` finds the rows.
//! A new endpoint's command is a variant, a row and a function here: the help test wants a
//! command naming every operation's route, `args.rs`' test a row for every command.

use clap::Subcommand;
use line_channel_token::*;

use crate::args;
use crate::commands::{Command, Output};
use crate::failure::Failure;
use crate::handlers::{sign, sign_with};
use crate::net::Net;
use crate::options::Options;
use crate::secrets;

// The fields are read through `ArgMatches` by long name (`Options`), not through this enum:
// it is the declaration.
#[allow(dead_code, clippy::large_enum_variant)] // a declaration: never built at run time
#[derive(Subcommand)]
pub enum EndpointCommand {
    /// issue a 30-day short-lived token (POST /v2/oauth/accessToken)
    #[command(override_usage = "line-token issue-short-lived --channel-id ID \
                                --channel-secret-file FILE|-")]
    IssueShortLived {
        #[command(flatten)]
        channel: args::ChannelId,
        #[command(flatten)]
        secret: args::Secret,
        #[command(flatten)]
        api: args::ApiBase,
    },
    /// issue a 15-minute stateless token, by secret or assertion (POST /oauth2/v3/token)
    #[command(
        override_usage = "line-token issue-stateless --channel-id ID\n         \
                                (--channel-secret-file FILE|- | --kid KID --key FILE)"
    )]
    IssueStateless {
        #[command(flatten)]
        channel: args::ChannelId,
        #[command(flatten)]
        secret: args::Secret,
        #[command(flatten)]
        kid: args::Kid,
        #[command(flatten)]
        key: args::Key,
        #[command(flatten)]
        api: args::ApiBase,
    },
    /// issue a v2.1 token, 30 days unless --token-exp (POST /oauth2/v2.1/token)
    #[command(
        name = "issue-v2.1",
        override_usage = "line-token issue-v2.1 --channel-id ID --kid KID --key FILE \
                          [--token-exp SECS]"
    )]
    IssueV21 {
        #[command(flatten)]
        channel: args::ChannelId,
        #[command(flatten)]
        kid: args::Kid,
        #[command(flatten)]
        key: args::Key,
        #[command(flatten)]
        token_exp: args::TokenExp,
        #[command(flatten)]
        api: args::ApiBase,
    },
    /// verify a short-lived or long-lived token (POST /v2/oauth/verify)
    #[command(override_usage = "line-token verify --token-file FILE|-")]
    Verify {
        #[command(flatten)]
        token: args::TokenIn,
        #[command(flatten)]
        api: args::ApiBase,
    },
    // LINE documents this endpoint for v2.1 tokens only ("You can verify whether a Channel
    // access token with a user-specified expiration (Channel Access Token v2.1) is valid",
    // operation verifyChannelTokenByJWT, tests/data/channel-access-token.yml); the emulator
    // answers "access_token invalid" for any other kind.
    /// verify a v2.1 token (GET /oauth2/v2.1/verify); LINE documents it for v2.1 tokens only
    #[command(
        name = "verify-v2.1",
        override_usage = "line-token verify-v2.1 --token-file FILE|-"
    )]
    VerifyV21 {
        #[command(flatten)]
        token: args::TokenIn,
        #[command(flatten)]
        api: args::ApiBase,
    },
    /// revoke a short-lived or long-lived token (POST /v2/oauth/revoke)
    #[command(override_usage = "line-token revoke --token-file FILE|-")]
    Revoke {
        #[command(flatten)]
        token: args::TokenIn,
        #[command(flatten)]
        api: args::ApiBase,
    },
    /// revoke a v2.1 token (POST /oauth2/v2.1/revoke)
    #[command(
        name = "revoke-v2.1",
        override_usage = "line-token revoke-v2.1 --channel-id ID --channel-secret-file FILE|- \
                          --token-file FILE|-"
    )]
    RevokeV21 {
        #[command(flatten)]
        channel: args::ChannelId,
        #[command(flatten)]
        secret: args::Secret,
        #[command(flatten)]
        token: args::TokenIn,
        #[command(flatten)]
        api: args::ApiBase,
    },
    /// list the key IDs of valid v2.1 tokens (GET /oauth2/v2.1/tokens/kid)
    #[command(override_usage = "line-token key-ids --channel-id ID --kid KID --key FILE")]
    KeyIds {
        #[command(flatten)]
        channel: args::ChannelId,
        #[command(flatten)]
        kid: args::Kid,
        #[command(flatten)]
        key: args::Key,
        #[command(flatten)]
        api: args::ApiBase,
    },
}

/// The rows of the commands table for the endpoint commands.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "issue-short-lived",
        network: true,
        run: issue_short_lived,
    },
    Command {
        name: "issue-stateless",
        network: true,
        run: issue_stateless,
    },
    Command {
        name: "issue-v2.1",
        network: true,
        run: issue_v21,
    },
    Command {
        name: "verify",
        network: true,
        run: verify,
    },
    Command {
        name: "verify-v2.1",
        network: true,
        run: verify_v21,
    },
    Command {
        name: "revoke",
        network: true,
        run: revoke,
    },
    Command {
        name: "revoke-v2.1",
        network: true,
        run: revoke_v21,
    },
    Command {
        name: "key-ids",
        network: true,
        run: key_ids,
    },
];

fn issue_short_lived(net: &Net, opts: &Options) -> Result<Output, Failure> {
    let id = opts.require("channel-id")?;
    let secret = secrets::require_channel_secret(opts)?;
    net.json(&IssueShortLived::new(&id, &secret))
        .map(Output::from)
}

fn issue_stateless(net: &Net, opts: &Options) -> Result<Output, Failure> {
    let id = opts.require("channel-id")?;
    match secrets::stateless(opts)? {
        secrets::Stateless::Secret(secret) => net.json(&IssueStateless::by_secret(&id, &secret)),
        secrets::Stateless::Key(kid, key) => {
            let assertion = sign_with(&id, kid, &key, None, None)?;
            net.json(&IssueStateless::by_assertion(&assertion))
        }
    }
    .map(Output::from)
}

fn issue_v21(net: &Net, opts: &Options) -> Result<Output, Failure> {
    let id = opts.require("channel-id")?;
    let token_exp = opts.seconds("token-exp")?.unwrap_or(MAX_TOKEN_EXP);
    let assertion = sign(opts, &id, Some(token_exp), None)?;
    net.json(&IssueV21::new(&assertion)).map(Output::from)
}

fn key_ids(net: &Net, opts: &Options) -> Result<Output, Failure> {
    let id = opts.require("channel-id")?;
    let assertion = sign(opts, &id, None, None)?;
    net.json(&KeyIdsV21::new(&assertion)).map(Output::from)
}

fn verify(net: &Net, opts: &Options) -> Result<Output, Failure> {
    let token = secrets::access_token(opts)?;
    net.json(&Verify::new(&token)).map(Output::from)
}

fn verify_v21(net: &Net, opts: &Options) -> Result<Output, Failure> {
    let token = secrets::access_token(opts)?;
    net.json(&VerifyV21::new(&token)).map(Output::from)
}

fn revoke(net: &Net, opts: &Options) -> Result<Output, Failure> {
    let token = secrets::access_token(opts)?;
    net.json(&Revoke::new(&token)).map(Output::from)
}

fn revoke_v21(net: &Net, opts: &Options) -> Result<Output, Failure> {
    let id = opts.require("channel-id")?;
    let secret = secrets::require_channel_secret(opts)?;
    let token = secrets::access_token(opts)?;
    net.json(&RevokeV21::new(&id, &secret, &token))
        .map(Output::from)
}
