//! Any header frame on the inbox: parse never panics; a parsed message
//! emits and parses back to itself; the header agrees with the message.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zre::wire::{Header, ZreMessage};

fuzz_target!(|data: &[u8]| {
    let header = Header::parse(data);
    if let Ok(message) = ZreMessage::parse(data) {
        let header = header.expect("a parsed message has a valid header");
        assert_eq!(header.sequence, message.sequence);
        assert_eq!(header.id, message.id() as u8);
        let bytes = message.to_bytes().expect("what parsed fits its length prefixes");
        assert_eq!(ZreMessage::parse(&bytes).as_ref(), Ok(&message));
        assert_eq!(
            &bytes[..],
            &data[..bytes.len()],
            "only trailing bytes may be dropped"
        );
    }
});
