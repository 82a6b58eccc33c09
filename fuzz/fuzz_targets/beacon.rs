//! Any datagram on the beacon port: parse never panics, and whatever parses
//! emits back to the same bytes (a beacon has no slack). The same bytes as
//! text where a CURVE key is read (X-PUBLICKEY, a gossip value after `|`):
//! decoding never panics, and a key comes only from the text that encodes it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zre::wire::Beacon;
use zre::wire::curve_key::{decode_z85, encode_z85, is_usable_key, split_gossip_value};

fuzz_target!(|data: &[u8]| {
    if let Ok(beacon) = Beacon::parse(data) {
        assert_eq!(beacon.to_bytes(), data);
        if let Some(key) = beacon.curve_key {
            let _ = is_usable_key(&key);
            assert_eq!(decode_z85(&encode_z85(&key)), Ok(key));
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let (endpoint, key_text) = split_gossip_value(text);
        assert!(!endpoint.contains('|'));
        for candidate in [Some(text), key_text].into_iter().flatten() {
            if let Ok(key) = decode_z85(candidate) {
                assert_eq!(encode_z85(&key), candidate);
            }
        }
    }
});
