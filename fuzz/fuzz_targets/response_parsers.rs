//! Every endpoint's response parser: status, request-id header and body from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use line_channel_token::emulator::parse_response_as;
use line_channel_token::*;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let status = 100 + u16::from_be_bytes([data[0], data[1]]) % 900;
    let id_len = usize::from(data[2] % 48).min(data.len() - 3);
    let (id, body) = data[3..].split_at(id_len);
    let mut builder = http::Response::builder().status(status);
    if let Ok(v) = http::HeaderValue::from_bytes(id) {
        builder = builder.header("x-line-request-id", v);
    }
    let Ok(r) = builder.body(body) else { return };
    for op in Operation::ALL {
        let _ = parse_response_as(op, &r).map_err(|e| e.to_string());
    }
    let _ = IssueStateless::parse_response_with_info(&r).map_err(|e| e.to_string());
});
