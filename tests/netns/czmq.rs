//! czmq's ZGossip server (the `zgossip` actor of libczmq 4.2, driven by
//! `tests/interop/czmq_gossip.c`) with our nodes, with Zyre 2.0.1 nodes,
//! and chained to our `zgossip_server` both ways: discovery by gossip only
//! (no beacons), across two subnets joined by a router that forwards
//! unicast and never broadcast.
//!
//! Needs root, libczmq-dev and (for the tests with Zyre in them) a Zyre
//! build; a missing one fails the test with its install hint unless
//! `ZRE_SKIP_INTEROP=1`. LANs 10.99.140.0/24 to 10.99.149.0/24.

use crate::support::netns::{ChildGuard, Event, JsonPeer, Lab, WAIT};
use crate::support::peers::{self, czmq_server, delivered, live_lab};
use crate::support::refpeers::Family;

/// lan1 on 10.99.`net`.0/24 and lan2 on the next /24, hosts .2, .3, … in
/// the order given, joined by router `r` (.1 on both), so that only
/// unicast crosses.
fn two_subnets(lab: &mut Lab, net: u8, lan1: &[&str], lan2: &[&str], names: (&str, &str)) {
    lab.numbered_lan(names.0, net, lan1);
    lab.numbered_lan(names.1, net + 1, lan2);
    lab.router(
        &format!("r{net}"),
        &[
            (names.0, &format!("10.99.{net}.1")),
            (names.1, &format!("10.99.{}.1", net + 1)),
        ],
    );
}

/// Our `zgossip_server` on `host`, on port 31337, connected to `connect`.
fn our_server(lab: &Lab, host: &str, connect: &[&str]) -> ChildGuard {
    let mut args = vec!["--bind", "tcp://*:31337"];
    for c in connect {
        args.extend_from_slice(&["--connect", c]);
    }
    peers::gossip_server(lab, host, &args)
}

/// A Zyre node, gossip only, through `server` (`HOST:PORT`).
fn zyre(lab: &Lab, host: &str, lan: &str, name: &str, server: &str) -> JsonPeer {
    peers::zyre(lab, host, lan, name, &["--gossip", &format!("tcp://{server}")])
}

/// Our node, gossip only, through `server` (`HOST:PORT`).
fn ours(lab: &Lab, host: &str, lan: &str, name: &str, server: &str) -> JsonPeer {
    JsonPeer::spawn(lab, host, lan, name, &["--no-beacon", "-g", server])
}

fn enter_of(peer: &JsonPeer) -> impl Fn(&Event) -> bool + use<> {
    let uuid = peer.uuid.clone();
    move |e| e.is("ENTER") && e.peer() == uuid
}

fn whisper_from(peer: &JsonPeer, text: &str) -> impl Fn(&Event) -> bool + use<> {
    let (uuid, text) = (peer.uuid.clone(), text.to_owned());
    move |e| e.is("WHISPER") && e.peer() == uuid && e.content() == [text.as_str()]
}

/// Every peer sees every other ENTER (at the endpoint it announced) and
/// gets a WHISPER from each; nobody saw a beacon's worth of anything else.
fn all_meet(peers: &mut [JsonPeer]) {
    let n = peers.len();
    for i in 0..n {
        for j in 0..n {
            if i != j {
                let what = format!("ENTER of {} (seen by {})", peers[j].name, peers[i].name);
                let endpoint = peers[j].endpoint.clone();
                let enter = peers[i].wait_for(&what, enter_of(&peers[j]), WAIT);
                assert_eq!(enter.str("endpoint"), Some(endpoint.as_str()), "{enter}");
            }
        }
    }
    for i in 0..n {
        for j in 0..n {
            if i != j {
                let (to, from) = (peers[j].uuid.clone(), peers[i].name.clone());
                peers[i].send_line(&format!("/whisper {to} hello from {from}"));
            }
        }
    }
    for i in 0..n {
        for j in 0..n {
            if i != j {
                let text = format!("hello from {}", peers[j].name);
                let what = format!("WHISPER from {} (seen by {})", peers[j].name, peers[i].name);
                let pred = whisper_from(&peers[j], &text);
                peers[i].wait_for(&what, pred, WAIT);
            }
        }
    }
    for peer in peers.iter() {
        assert_eq!(
            peer.count(|e| e.is("ENTER")),
            n - 1,
            "{}: ENTER of a peer twice\n{}",
            peer.name,
            peer.report()
        );
        assert_eq!(
            peer.count(|e| e.is("EXIT")),
            0,
            "{}\n{}",
            peer.name,
            peer.report()
        );
    }
}

/// Our nodes on two subnets find each other through czmq's server alone,
/// and the server holds each one's tuple (UUID → endpoint).
#[test]
fn czmq_gossip_server_with_our_nodes() {
    let Some(mut lab) = live_lab("czmq_gossip_server_with_our_nodes", "czmqours", &[Family::Czmq]) else {
        return;
    };
    two_subnets(&mut lab, 140, &["s", "a"], &["b"], ("lan1", "lan2"));
    let server = czmq_server(&lab, "s", "lan1", &[]);
    let endpoint = "10.99.140.2:31337";
    let mut peers = [
        ours(&lab, "a", "lan1", "ours-a", endpoint),
        ours(&lab, "b", "lan2", "ours-b", endpoint),
    ];
    all_meet(&mut peers);
    for peer in &peers {
        assert!(
            delivered(&server, &peer.uuid, &peer.endpoint),
            "czmq has no tuple of {}\n{}",
            peer.name,
            lab.report()
        );
    }
    lab.show();
}

/// Two Zyre nodes and one of ours, on two subnets, find each other through
/// czmq's server alone: every pair, both ways.
#[test]
fn czmq_gossip_server_with_zyre_and_our_nodes() {
    let Some(mut lab) = live_lab(
        "czmq_gossip_server_with_zyre_and_our_nodes",
        "czmqzyre",
        &[Family::Czmq, Family::ZyreC],
    ) else {
        return;
    };
    two_subnets(&mut lab, 142, &["s", "y"], &["z", "b"], ("lan1", "lan2"));
    let _server = czmq_server(&lab, "s", "lan1", &[]);
    let endpoint = "10.99.142.2:31337";
    let mut peers = [
        zyre(&lab, "y", "lan1", "zyre-y", endpoint),
        zyre(&lab, "z", "lan2", "zyre-z", endpoint),
        ours(&lab, "b", "lan2", "ours-b", endpoint),
    ];
    all_meet(&mut peers);
    lab.show();
}

/// czmq's server connects to ours, and ours to czmq's: in each chain, one
/// of our nodes on one subnet (through one server) and a Zyre node on the
/// other (through the other server) find each other.
#[test]
fn czmq_gossip_server_chained_to_ours_both_ways() {
    let Some(mut lab) = live_lab(
        "czmq_gossip_server_chained_to_ours_both_ways",
        "czmqchain",
        &[Family::Czmq, Family::ZyreC],
    ) else {
        return;
    };
    // czmq's server (c1) connects to ours (o1).
    two_subnets(&mut lab, 144, &["c1", "a1"], &["o1", "z1"], ("lan1", "lan2"));
    let o1 = our_server(&lab, "o1", &[]);
    let c1 = czmq_server(&lab, "c1", "lan1", &["tcp://10.99.145.2:31337"]);
    // Ours (o2) connects to czmq's (c2).
    two_subnets(&mut lab, 146, &["o2", "a2"], &["c2", "z2"], ("lan3", "lan4"));
    let c2 = czmq_server(&lab, "c2", "lan4", &[]);
    let o2 = our_server(&lab, "o2", &["10.99.147.2:31337"]);

    let mut first = [
        ours(&lab, "a1", "lan1", "ours-1", "10.99.144.2:31337"),
        zyre(&lab, "z1", "lan2", "zyre-1", "10.99.145.2:31337"),
    ];
    let mut second = [
        ours(&lab, "a2", "lan3", "ours-2", "10.99.146.2:31337"),
        zyre(&lab, "z2", "lan4", "zyre-2", "10.99.147.2:31337"),
    ];
    all_meet(&mut first);
    all_meet(&mut second);
    // Each server holds both tuples of its chain.
    for (server, peers) in [(&c1, &first), (&o1, &first), (&c2, &second), (&o2, &second)] {
        for peer in peers.iter() {
            assert!(
                delivered(server, &peer.uuid, &peer.endpoint),
                "{} has no tuple of {}\n{}",
                server.label(),
                peer.name,
                lab.report()
            );
        }
    }
    // Nothing crossed between the two chains.
    for peer in first.iter().chain(second.iter()) {
        assert_eq!(peer.count(|e| e.is("ENTER")), 1, "{}", peer.report());
    }
    lab.show();
}
