//! IPv6 mode (issue 18) on namespace LANs with IPv6 only: our nodes with
//! each other (ULA addresses, and link-local addresses only), with Zyre
//! 2.0.1 in its IPv6 mode (`ZSYS_IPV6=1`), gossip between two IPv6 subnets
//! through our server, and a dual-stack LAN where an IPv4-mode node and an
//! IPv6-mode node do not see each other.
//!
//! Needs root (skipped with a message outside CI); the `zyre_c_` tests need
//! Zyre 2.0.1 (`refpeers`), failing with the install hint without it unless
//! `ZRE_SKIP_INTEROP=1`. LANs use fd00:68::/48 addresses, which exist only
//! in the test's namespaces.

use crate::support::events::{about, expect, meet, talk_both_ways};
use crate::support::netns::{ChildGuard, Event, JsonPeer, Lab, WAIT, ZRE};
use crate::support::peers::{self, live_lab};
use crate::support::refpeers::Family;
use std::thread;
use std::time::Duration;

/// Our node in IPv6 mode: `zre --json --ipv6` with fast beacons.
fn ours(lab: &Lab, host: &str, lan: &str, name: &str, extra: &[&str]) -> JsonPeer {
    let mut args = vec!["--ipv6"];
    args.extend_from_slice(extra);
    peers::ours(lab, host, lan, name, &args)
}

/// A Zyre 2.0.1 peer in IPv6 mode, set up as Zyre users do it: the
/// environment czmq's `zsys_init` reads.
fn zyre(lab: &Lab, host: &str, lan: &str, name: &str) -> JsonPeer {
    let envs = [("ZSYS_IPV6", "1"), ("ZSYS_INTERFACE", lan)];
    peers::zyre_with_env(lab, host, lan, name, &["--beacon-interval", "100"], &envs)
}

/// Both ENTER each other; returns the endpoint each saw for the other.
fn endpoints(a: &mut JsonPeer, b: &mut JsonPeer) -> (String, String) {
    let endpoint = |e: Event| e.str("endpoint").unwrap_or("").to_owned();
    let (seen_by_a, seen_by_b) = meet(a, b);
    (endpoint(seen_by_a), endpoint(seen_by_b))
}

/// Both join `chat`, then SHOUT and WHISPER each way.
fn talk(a: &mut JsonPeer, b: &mut JsonPeer) {
    talk_both_ways(a, b, "chat", "v6");
}

/// `tcp://[addr]:port` with its parts.
fn ipv6_endpoint_host(endpoint: &str) -> &str {
    endpoint
        .strip_prefix("tcp://[")
        .and_then(|rest| rest.split_once(']'))
        .map_or("", |(host, _)| host)
}

#[test]
fn ours_with_ours_on_ula_addresses() {
    let Some(mut lab) = Lab::new("v6ula") else {
        return;
    };
    lab.lan6("six", &[("a", "fd00:68::2"), ("b", "fd00:68::3")]);
    let mut a = ours(&lab, "a", "six", "a6", &[]);
    let mut b = ours(&lab, "b", "six", "b6", &[]);
    assert_eq!(a.endpoint.rsplit_once(':').unwrap().0, "tcp://[fd00:68::2]");
    let (b_at, a_at) = endpoints(&mut a, &mut b);
    assert_eq!(ipv6_endpoint_host(&b_at), "fd00:68::3", "{}", lab.report());
    assert_eq!(ipv6_endpoint_host(&a_at), "fd00:68::2", "{}", lab.report());
    talk(&mut a, &mut b);
    a.quit(WAIT);
    expect(&mut b, "EXIT of a6", about("EXIT", &a), WAIT);
}

/// Link-local addresses only, and the second node configured the way a
/// Zyre user does it: `ZSYS_IPV6=1 ZSYS_INTERFACE=six`, no flags.
#[test]
fn ours_with_ours_on_link_local_addresses_only() {
    let Some(mut lab) = Lab::new("v6ll") else {
        return;
    };
    lab.lan6("six", &[("a", ""), ("b", "")]);
    let a_ll = lab.link_local("a", "six").unwrap();
    let b_ll = lab.link_local("b", "six").unwrap();
    let mut a = ours(&lab, "a", "six", "a6", &[]);
    let log = std::env::var("RUST_LOG").unwrap_or_else(|_| "debug".into());
    let child = lab.spawn_as(
        "zre b6@b (ZSYS_* environment)",
        "b",
        ZRE,
        &[
            "--json",
            "-n",
            "b6",
            "--beacon-port",
            "5670",
            "--beacon-interval",
            "100ms",
        ],
        &[("RUST_LOG", &log), ("ZSYS_IPV6", "1"), ("ZSYS_INTERFACE", "six")],
    );
    let mut b = JsonPeer::adopt(child);
    // HELLO carries no scope: it would mean nothing to the receiver.
    assert_eq!(a.endpoint.rsplit_once(':').unwrap().0, format!("tcp://[{a_ll}]"));
    assert_eq!(b.endpoint.rsplit_once(':').unwrap().0, format!("tcp://[{b_ll}]"));
    let (b_at, a_at) = endpoints(&mut a, &mut b);
    // The receiver adds the scope of its own interface (by index).
    let scoped = |ll: &str, host: &str| {
        let index = lab.exec(host, "cat", &["/sys/class/net/six/ifindex"]);
        format!("{ll}%{}", index.trim())
    };
    assert_eq!(ipv6_endpoint_host(&b_at), scoped(&b_ll, "a"), "{}", lab.report());
    assert_eq!(ipv6_endpoint_host(&a_at), scoped(&a_ll, "b"), "{}", lab.report());
    talk(&mut a, &mut b);
}

#[test]
fn zyre_c_ipv6_ours_and_zyre_both_ways() {
    let Some(mut lab) = live_lab("zyre_c_ipv6_ours_and_zyre_both_ways", "v6zyre", &[Family::ZyreC]) else {
        return;
    };
    lab.lan6("six", &[("a", "fd00:68::2"), ("z", "fd00:68::3")]);
    let mut z = zyre(&lab, "z", "six", "zy6");
    assert_eq!(z.endpoint.rsplit_once(':').unwrap().0, "tcp://[fd00:68::3]");
    let mut a = ours(&lab, "a", "six", "a6", &[]);
    let (z_at, a_at) = endpoints(&mut a, &mut z);
    // Zyre writes the endpoints it makes from beacons without brackets;
    // we read both forms, and write ours with them.
    assert_eq!(ipv6_endpoint_host(&z_at), "fd00:68::3", "{}", lab.report());
    assert!(a_at.contains("fd00:68::2"), "{a_at}\n{}", lab.report());
    talk(&mut a, &mut z);
    // Zyre goes; we see it leave.
    z.quit(WAIT);
    expect(&mut a, "EXIT of zy6", about("EXIT", &z), WAIT);
}

fn gossip_server(lab: &Lab, host: &str, bind: &str) -> ChildGuard {
    peers::gossip_server(lab, host, &["--bind", bind])
}

/// Two IPv6 subnets joined by a router that forwards unicast only
/// (multicast beacons stay on their link): the nodes find each other
/// through our ZGossip server at an IPv6 address, `[fd00:71::1]:31337`.
#[test]
fn gossip_between_two_ipv6_subnets() {
    let Some(mut lab) = Lab::new("v6gossip") else {
        return;
    };
    lab.lan6("sixa", &[("a", "fd00:71::2"), ("r", "fd00:71::1")]);
    lab.lan6("sixb", &[("b", "fd00:72::2")]);
    lab.attach6("r", "sixb", "fd00:72::1");
    lab.exec("r", "sysctl", &["-qw", "net.ipv6.conf.all.forwarding=1"]);
    lab.ip("a", &["-6", "route", "add", "fd00:72::/64", "via", "fd00:71::1"]);
    lab.ip("b", &["-6", "route", "add", "fd00:71::/64", "via", "fd00:72::1"]);
    let _server = gossip_server(&lab, "r", "tcp://[fd00:71::1]:31337");
    thread::sleep(Duration::from_millis(300));
    let gossip = ["-g", "[fd00:71::1]:31337"];
    let mut a = ours(&lab, "a", "sixa", "a6", &gossip);
    let mut b = ours(&lab, "b", "sixb", "b6", &gossip);
    let (b_at, a_at) = endpoints(&mut a, &mut b);
    assert_eq!(ipv6_endpoint_host(&b_at), "fd00:72::2", "{}", lab.report());
    assert_eq!(ipv6_endpoint_host(&a_at), "fd00:71::2", "{}", lab.report());
    talk(&mut a, &mut b);
}

/// One LAN with IPv4 and IPv6 on every host. Two IPv4-mode nodes meet, two
/// IPv6-mode nodes meet, and no node of one mode ever sees one of the
/// other: IPv6 beacons go to ff02::1, IPv4 ones to the broadcast address,
/// and each mode listens for its own only.
#[test]
fn dual_stack_lan_keeps_the_modes_apart() {
    let Some(mut lab) = Lab::new("v6dual") else {
        return;
    };
    let hosts = ["a", "b", "c", "d"];
    lab.numbered_lan("dual", 73, &hosts);
    for (n, host) in hosts.iter().enumerate() {
        let addr = format!("fd00:73::{}/64", n + 2);
        lab.ip(host, &["addr", "add", &addr, "dev", "dual", "nodad"]);
    }
    let v4 =
        |lab: &Lab, host, name| JsonPeer::spawn(lab, host, "dual", name, &["--beacon-interval", "100ms"]);
    let mut a4 = v4(&lab, "a", "a4");
    let mut b4 = v4(&lab, "b", "b4");
    let mut c6 = ours(&lab, "c", "dual", "c6", &[]);
    let mut d6 = ours(&lab, "d", "dual", "d6", &[]);
    meet(&mut a4, &mut b4);
    meet(&mut c6, &mut d6);
    // Many beacon intervals more for a crossing to show.
    thread::sleep(Duration::from_secs(2));
    for four in [&a4, &b4] {
        for six in [&c6, &d6] {
            assert_eq!(
                four.count(about("ENTER", six)),
                0,
                "{} saw {}\n{}",
                four.name,
                six.name,
                lab.report()
            );
            assert_eq!(
                six.count(about("ENTER", four)),
                0,
                "{} saw {}\n{}",
                six.name,
                four.name,
                lab.report()
            );
        }
    }
}
