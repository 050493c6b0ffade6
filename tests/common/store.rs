//! Helpers of the fleet store's tests.

use line_channel_token::store::{Record, StoreConfig, Write};
use line_channel_token::UnixTime;

/// What a store holding `write` returns to a reader at `now`: the fleet's own record.
pub fn reread(write: &Write, now: UnixTime, config: &StoreConfig) -> Record {
    Record::from_store(
        write.new_version(),
        Some(write.body().as_bytes()),
        now,
        config,
    )
    .expect("the fleet's own record")
    .0
}
