//! Both ZGossip dialects (czmq's and haskell-zre's): parsing and decoding
//! never panic, a parsed frame re-emits to itself, a decoded tuple
//! re-encodes to the same tuple, and a server fed any frames from a czmq
//! client and a haskell-zre client (identity a raw UUID) only ever sends
//! frames that parse.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};
use zre::core::gossip_server::{GossipServer, ServerConfig, ServerOutput};
use zre::wire::gossip_dialect::Decoded;
use zre::wire::{GossipDialect, RawGossip};

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = RawGossip::parse(data) {
        let bytes = raw.to_bytes().expect("what parsed fits its length prefixes");
        assert_eq!(
            &bytes[..],
            &data[..bytes.len()],
            "only trailing bytes may be dropped"
        );
    }
    for dialect in [GossipDialect::Czmq, GossipDialect::Haskell] {
        if let Ok(Decoded::Publish { key, value, ttl }) = dialect.decode(data) {
            let again = dialect.publish(&key, value, ttl).expect("a decoded key fits");
            match dialect.decode(&again) {
                Ok(Decoded::Publish {
                    key: k2, value: v2, ..
                }) => {
                    assert!(k2.eq_ignore_ascii_case(&key), "{key:?} became {k2:?}");
                    assert_eq!(v2, value);
                }
                other => panic!("re-encoded PUBLISH decodes as {other:?}"),
            }
        }
    }

    // Frames: [len, sender, bytes…]…, sender's low bit picks the client.
    let t0 = Instant::now();
    let mut server = GossipServer::new(ServerConfig::default(), t0);
    let clients: [&[u8]; 2] = [&[0, 0, 0, 0, 1], &[0x5a; 16]];
    let mut rest = data;
    let mut step = 0u64;
    while let [len, sender, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (frame, tail) = tail.split_at(len);
        step += 1;
        let now = t0 + Duration::from_millis(step * 700);
        server.handle_client_frame(now, clients[usize::from(sender & 1)], frame);
        while let Some(output) = server.poll_output() {
            if let ServerOutput::SendToClient { envelope, frame, .. } = output {
                let dialect = if envelope.is_some() {
                    GossipDialect::Haskell
                } else {
                    GossipDialect::Czmq
                };
                assert!(
                    dialect.decode(&frame).is_ok(),
                    "the server sent an unparseable frame"
                );
            }
        }
        rest = tail;
    }
});
