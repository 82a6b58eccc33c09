//! Any frame from a gossip peer: parse never panics; a parsed message
//! emits and parses back to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zre::wire::GossipMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = GossipMessage::parse(data) {
        let bytes = message.to_bytes().expect("what parsed fits its length prefixes");
        assert_eq!(GossipMessage::parse(&bytes).as_ref(), Ok(&message));
        assert_eq!(
            &bytes[..],
            &data[..bytes.len()],
            "only trailing bytes may be dropped"
        );
    }
});
