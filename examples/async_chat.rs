//! A chat node in a tokio program: events as a stream, lines from stdin
//! shouted to the group, Ctrl-D stops the node without blocking the
//! runtime.
//!
//!     cargo run --example async_chat --features async -- -i lo
//!
//! `-i lo` is loopback mode (peers on this host only); another interface
//! name, or none, uses the LAN.

use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use zre::{Event, Node};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut builder = Node::builder().name(format!("async-{}", std::process::id()));
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-i" => builder = builder.interface(args.next().ok_or("-i needs an interface")?),
            other => return Err(format!("unknown argument {other:?} (usage: async_chat [-i IFACE])").into()),
        }
    }
    let node = builder.build()?.spawn_async()?;
    node.join("chat").await?;
    println!(
        "{} in group chat; type lines to shout, Ctrl-D to quit",
        node.name()
    );

    let mut events = node.events();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            event = events.next() => match event {
                Some(Event::Enter { name, .. }) => println!("* {name} entered"),
                Some(Event::Exit { name, .. }) => println!("* {name} left"),
                Some(Event::Shout { name, content, .. }) => {
                    let text: Vec<_> = content.iter().map(|frame| String::from_utf8_lossy(frame)).collect();
                    println!("{name}: {}", text.join(" | "));
                }
                Some(_) => {}
                None => break,
            },
            line = lines.next_line() => match line? {
                Some(line) => {
                    node.shout("chat", vec![line.into_bytes()]).await?;
                }
                None => break,
            },
        }
    }
    node.stop().await;
    Ok(())
}
