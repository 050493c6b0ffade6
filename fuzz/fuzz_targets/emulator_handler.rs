//! The emulator's request handler: method, path, content type and body/query from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use line_channel_token::emulator::Emulator;
use line_channel_token::{ChannelSecret, Operation, UnixTime};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let op = Operation::ALL[usize::from(data[0]) % Operation::ALL.len()];
    let flags = data[1];
    let rest = &data[2..];
    let mut e = Emulator::new();
    e.add_channel("1234567890", ChannelSecret::new("s3cret"));
    let _ = e.issue_long_lived("1234567890");
    let method = if flags & 1 == 0 {
        op.method()
    } else {
        http::Method::PUT
    };
    let mut uri = op.path().to_owned();
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
