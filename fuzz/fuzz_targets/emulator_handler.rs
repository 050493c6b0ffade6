//! The emulator's request handler: method, path, content type and body/query from the input.
//!
//! An input is `<operationId> '\n' <flags> <body or query>`: the operation is picked by LINE's
//! `operationId` (stable, unlike a position in `Operation::ALL`, so a new operation re-points no
//! seed), and a name that is no operation's is tried as a path of its own (the emulator's 404).
#![no_main]

use libfuzzer_sys::fuzz_target;
use line_channel_token::emulator::Emulator;
use line_channel_token::{ChannelSecret, Operation, UnixTime};

fuzz_target!(|data: &[u8]| {
    let Some(newline) = data.iter().position(|&b| b == b'\n') else {
        return;
    };
    let (name, data) = (&data[..newline], &data[newline + 1..]);
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let op = Operation::ALL
        .into_iter()
        .find(|op| op.line_operation_id().as_bytes() == name);
    let mut e = Emulator::new();
    e.add_channel("1234567890", ChannelSecret::new("s3cret"));
    let _ = e.issue_long_lived("1234567890");
    let method = match op {
        Some(op) if flags & 1 == 0 => op.method(),
        Some(_) => http::Method::PUT,
        None if flags & 1 == 0 => http::Method::POST,
        None => http::Method::GET,
    };
    let mut uri = match op {
        Some(op) => op.path().to_owned(),
        None => format!("/{}", String::from_utf8_lossy(name)),
    };
    if method == http::Method::GET {
        uri.push('?');
        uri.push_str(&String::from_utf8_lossy(rest));
    }
    let mut builder = http::Request::builder().method(method).uri(uri.as_str());
    if flags & 2 == 0 {
        builder = builder.header("content-type", "application/x-www-form-urlencoded");
    }
    let Ok(request) = builder.body(rest.to_vec()) else {
        return;
    };
    let now = UnixTime::from_secs(1_700_000_000 + u64::from(flags));
    let response = e.handle(now, &request);
    assert!(response.headers().contains_key("x-line-request-id"));
    assert!(response.status().is_success() || response.status().is_client_error());
});
