//! Any datagram on the beacon port: parse never panics, and whatever parses
//! emits back to the same bytes (a beacon has no slack).
#![no_main]
use libfuzzer_sys::fuzz_target;
use zre::wire::Beacon;

fuzz_target!(|data: &[u8]| {
    if let Ok(beacon) = Beacon::parse(data) {
        assert_eq!(beacon.to_bytes(), data);
    }
});
