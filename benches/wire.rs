//! Parse and emit cost of the frames a node handles most: HELLO (once per
//! peer, the largest), SHOUT (per group message) and the UDP beacon (every
//! interval, from every peer). Emit goes into one reused buffer, cleared
//! each iteration, as the node does.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use uuid::Uuid;
use zre::wire::{Beacon, Body, Hello, ZreMessage};

fn hello() -> ZreMessage<'static> {
    ZreMessage::new(
        1,
        Body::Hello(Box::new(Hello {
            endpoint: "tcp://192.168.1.20:49152",
            groups: vec!["GLOBAL", "chat"],
            status: 3,
            name: "3C5B7E12",
            headers: vec![
                ("X-HELLO", "World"),
                ("X-PUBLIC-KEY", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"),
            ],
        })),
    )
}

fn shout() -> ZreMessage<'static> {
    ZreMessage::new(1234, Body::Shout { group: "chat" })
}

fn beacon() -> Beacon {
    Beacon::new(Uuid::from_u128(0x3c5b_7e12_9a01_4f2b_8d6e_00ff_1020_3040), 49152)
}

fn bench_zre(c: &mut Criterion, name: &str, msg: ZreMessage<'static>) {
    let bytes = msg.to_bytes().unwrap();
    c.bench_function(&format!("parse/{name}"), |b| {
        b.iter(|| ZreMessage::parse(black_box(&bytes)).unwrap())
    });
    let mut out = Vec::with_capacity(256);
    c.bench_function(&format!("emit/{name}"), |b| {
        b.iter(|| {
            out.clear();
            black_box(&msg).emit(&mut out).unwrap();
            black_box(out.len())
        })
    });
}

fn wire(c: &mut Criterion) {
    bench_zre(c, "hello", hello());
    bench_zre(c, "shout", shout());

    let beacon = beacon();
    let bytes = beacon.to_bytes();
    c.bench_function("parse/beacon", |b| {
        b.iter(|| Beacon::parse(black_box(&bytes)).unwrap())
    });
    let mut out = Vec::with_capacity(64);
    c.bench_function("emit/beacon", |b| {
        b.iter(|| {
            out.clear();
            black_box(&beacon).emit(&mut out);
            black_box(out.len())
        })
    });
}

criterion_group!(benches, wire);
criterion_main!(benches);
