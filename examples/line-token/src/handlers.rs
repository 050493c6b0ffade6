//! What each command does, given its parsed options (`token` has its own module).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use line_channel_token::*;

use crate::commands::Output;
use crate::failure::{local, usage, Failure};
use crate::files;
use crate::net::Net;
use crate::options::Options;
use crate::scrub;
use crate::secrets;

fn now() -> UnixTime {
    UnixTime::from(SystemTime::now())
}

pub fn public_jwk(_: &Net, opts: &Options) -> Result<Output, Failure> {
    let key = secrets::load_key(opts)?;
    Ok(key.public_jwk().to_json_pretty().into())
}

pub fn assertion(_: &Net, opts: &Options) -> Result<Output, Failure> {
    let id = opts.require("channel-id")?;
    let token_exp = opts.seconds("token-exp")?;
    let ttl = opts.seconds("ttl")?;
    let jwt = sign(opts, &id, token_exp, ttl)?;
    Ok(jwt.expose_secret().to_owned().into())
}

pub fn keygen(_: &Net, opts: &Options) -> Result<Output, Failure> {
    let private = PathBuf::from(opts.require("private")?);
    let public = PathBuf::from(opts.require("public")?);
    // Checked before anything is written: one path for both left the private key there and
    // then failed on the public one.
    if private == public {
        return Err(usage("--private and --public must be different files"));
    }
    for p in [&private, &public] {
        if p.symlink_metadata().is_ok() {
            return Err(local(format!(
                "{} already exists; remove it or choose another path",
                scrub::line(&p.display().to_string())
            )));
        }
    }
    let key = SigningKey::generate(&mut OsRng).map_err(local)?;
    let mut private_jwk = key.to_private_jwk();
    private_jwk.push('\n');
    files::create_new(&private, private_jwk.as_bytes(), 0o600)?;
    let jwk = key.public_jwk().to_json_pretty();
    files::create_new(&public, format!("{jwk}\n").as_bytes(), 0o644)?;
    Ok(jwk.into())
}

pub(crate) fn sign(
    opts: &Options,
    channel_id: &str,
    token_exp: Option<Duration>,
    ttl: Option<Duration>,
) -> Result<ClientAssertion, Failure> {
    let (kid, key) = secrets::signing_key(opts)?;
    sign_with(channel_id, kid, &key, token_exp, ttl)
}

pub(crate) fn sign_with(
    channel_id: &str,
    kid: String,
    key: &SigningKey,
    token_exp: Option<Duration>,
    ttl: Option<Duration>,
) -> Result<ClientAssertion, Failure> {
    let mut builder = AssertionBuilder::new(channel_id, kid);
    if let Some(t) = token_exp {
        builder = builder.token_exp(t);
    }
    if let Some(t) = ttl {
        builder = builder.ttl(t);
    }
    let assertion = builder.sign(key, now(), &mut OsRng).map_err(local)?;
    scrub::register(assertion.expose_secret());
    Ok(assertion)
}
