//! ZGossip across real (namespaced) networks: nodes on subnets that
//! broadcast cannot cross find each other only through a gossip server.
//!
//! Every host is a network namespace made by the test (see
//! `support/netns.rs`); the processes are the `zre` binary in `--json` mode
//! and its `zgossip_server` applet. Needs root; skipped with a message
//! without it, unless `CI` is set (then it fails).

use crate::support::netns::{ChildGuard, Event, JsonPeer, Lab, WAIT};
use crate::support::{netns, peers};
use std::thread;
use std::time::Duration;

/// Two subnets joined by router `r` (which forwards unicast, not
/// broadcast): lan1 10.99.1.0/24 with `a` (.2) and `c` (.3), lan2
/// 10.99.2.0/24 with `b` (.2); `r` is .1 on both.
fn two_subnets(tag: &str) -> Option<Lab> {
    let mut lab = Lab::new(tag)?;
    lab.lan("lan1", "10.99.1.0/24", &[("a", "10.99.1.2"), ("c", "10.99.1.3")]);
    lab.lan("lan2", "10.99.2.0/24", &[("b", "10.99.2.2")]);
    lab.router("r", &[("lan1", "10.99.1.1"), ("lan2", "10.99.2.1")]);
    Some(lab)
}

fn gossip_server(lab: &Lab, host: &str, extra: &[&str]) -> ChildGuard {
    let mut args = vec!["--bind", "tcp://*:31337"];
    args.extend_from_slice(extra);
    peers::gossip_server(lab, host, &args)
}

/// Lines `DELIVER <key> …` a server printed for `key` (a peer's uuid).
fn delivers(server: &ChildGuard, key: &str) -> usize {
    server.stdout().count(|l| is_deliver(l, key))
}

fn is_deliver(line: &str, key: &str) -> bool {
    let mut words = line.split_whitespace();
    words.next() == Some("DELIVER") && words.next().is_some_and(|k| k.eq_ignore_ascii_case(key))
}

fn enter_of<'a>(peer: &'a JsonPeer) -> impl Fn(&Event) -> bool + 'a {
    move |e| e.is("ENTER") && e.peer() == peer.uuid
}

// ---- the harness itself --------------------------------------------------

/// UDP listener printing `LISTENING`, then `GOT <payload> <from>` per datagram.
const UDP_LISTEN: &str = "import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind(('',int(sys.argv[1])))
print('LISTENING',flush=True)
while True:
    d,a=s.recvfrom(2048)
    print('GOT',d.decode(),a[0],flush=True)";

/// Sends `payload` to `addr:port` (broadcast allowed) a few times, out of
/// interface lan1 (without a default route, 255.255.255.255 needs one).
const UDP_SEND: &str = "import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET,socket.SO_BROADCAST,1)
s.setsockopt(socket.SOL_SOCKET,socket.SO_BINDTODEVICE,b'lan1')
for _ in range(3): s.sendto(sys.argv[3].encode(),(sys.argv[1],int(sys.argv[2])))";

fn udp_listener(lab: &Lab, host: &str) -> ChildGuard {
    let mut child = lab.spawn(host, "python3", &["-c", UDP_LISTEN, "5999"], &[]);
    child.wait_stdout("LISTENING", |l| l == "LISTENING", WAIT);
    child
}

fn udp_send(lab: &Lab, host: &str, addr: &str, payload: &str) {
    lab.exec(host, "python3", &["-c", UDP_SEND, addr, "5999", payload]);
}

fn got(listener: &ChildGuard, payload: &str) -> usize {
    listener
        .stdout()
        .count(|l| l.split_whitespace().nth(1) == Some(payload))
}

/// The topology the gossip tests rely on: unicast crosses the router,
/// broadcast (limited or directed) does not; nothing of the lab survives it.
#[test]
fn harness_routes_unicast_but_not_broadcast() {
    let prefix;
    {
        let Some(lab) = two_subnets("harness") else { return };
        prefix = lab.prefix().to_owned();
        for host in ["a", "b", "c"] {
            let routes = lab.ip(host, &["route", "show"]);
            assert!(
                !routes.contains("default"),
                "{host} has a default route:\n{routes}"
            );
        }
        assert_eq!(
            lab.exec("r", "cat", &["/proc/sys/net/ipv4/ip_forward"]).trim(),
            "1"
        );
        let b = udp_listener(&lab, "b");
        let c = udp_listener(&lab, "c");
        let r = udp_listener(&lab, "r");

        udp_send(&lab, "a", "10.99.2.2", "unicast");
        b.stdout()
            .wait_for(|l| l.starts_with("GOT unicast 10.99.1.2"), WAIT)
            .unwrap_or_else(|| panic!("unicast a -> b did not cross the router\n{}", lab.report()));

        udp_send(&lab, "a", "10.99.1.255", "directed");
        udp_send(&lab, "a", "255.255.255.255", "limited");
        udp_send(&lab, "a", "10.99.2.255", "remote");
        for payload in ["directed", "limited"] {
            c.stdout()
                .wait_for(|l| l.split_whitespace().nth(1) == Some(payload), WAIT)
                .unwrap_or_else(|| panic!("broadcast {payload} did not reach c on lan1\n{}", lab.report()));
        }
        // The router got the remote-subnet broadcast itself; then give any
        // forwarded copy time to reach b.
        r.stdout()
            .wait_for(|l| l.split_whitespace().nth(1) == Some("remote"), WAIT)
            .unwrap_or_else(|| panic!("r did not get the lan2 broadcast\n{}", lab.report()));
        thread::sleep(Duration::from_millis(500));
        for payload in ["directed", "limited", "remote"] {
            assert_eq!(
                got(&b, payload),
                0,
                "broadcast {payload} crossed the router\n{}",
                lab.report()
            );
        }

        lab.block_udp_port("c", 5999);
        udp_send(&lab, "a", "10.99.1.255", "blocked");
        r.stdout()
            .wait_for(|l| l.split_whitespace().nth(1) == Some("blocked"), WAIT)
            .unwrap_or_else(|| panic!("r did not get the broadcast\n{}", lab.report()));
        thread::sleep(Duration::from_millis(500));
        assert_eq!(
            got(&c, "blocked"),
            0,
            "nft did not block UDP 5999 on c\n{}",
            lab.report()
        );
        lab.unblock_all("c");
        udp_send(&lab, "a", "10.99.1.255", "unblocked");
        c.stdout()
            .wait_for(|l| l.split_whitespace().nth(1) == Some("unblocked"), WAIT)
            .unwrap_or_else(|| panic!("c still blocked after unblock_all\n{}", lab.report()));
    }
    let left = netns::list_namespaces();
    assert!(
        !left.contains(&prefix),
        "namespaces of {prefix} left behind:\n{left}"
    );
}

// ---- ZGossip -------------------------------------------------------------

/// Beacons do not cross the router, so without gossip the subnets stay
/// apart, while nodes on one LAN do meet by beacon.
#[test]
fn without_gossip_subnets_do_not_meet() {
    let Some(lab) = two_subnets("nogossip") else {
        return;
    };
    let fast = ["--beacon-interval", "100ms"];
    let mut a = JsonPeer::spawn(&lab, "a", "lan1", "alpha", &fast);
    let b = JsonPeer::spawn(&lab, "b", "lan2", "bravo", &fast);
    let mut c = JsonPeer::spawn(&lab, "c", "lan1", "charlie", &fast);
    a.wait_for("ENTER of charlie (same LAN, by beacon)", enter_of(&c), WAIT);
    c.wait_for("ENTER of alpha (same LAN, by beacon)", enter_of(&a), WAIT);
    // 30 beacon intervals more: bravo would have met someone by now.
    thread::sleep(Duration::from_secs(3));
    assert_eq!(
        b.count(|e| e.is("ENTER")),
        0,
        "bravo met someone across the router\n{}",
        b.report()
    );
    assert_eq!(
        a.count(enter_of(&b)),
        0,
        "alpha met bravo without gossip\n{}",
        a.report()
    );
    assert_eq!(
        c.count(enter_of(&b)),
        0,
        "charlie met bravo without gossip\n{}",
        c.report()
    );
}

/// One node per subnet, the server on the router: they meet through it,
/// talk, and the survivor sees the other leave at once (GOODBYE, not expiry).
#[test]
fn subnets_meet_through_a_gossip_server_on_the_router() {
    let Some(lab) = two_subnets("gossip") else { return };
    let _server = gossip_server(&lab, "r", &[]);
    // Expiry far beyond the waits: an EXIT can only come from GOODBYE.
    let slow_expiry = [
        "--beacon-interval",
        "100ms",
        "--evasive",
        "60",
        "--expired",
        "120",
    ];
    let mut a = JsonPeer::spawn(
        &lab,
        "a",
        "lan1",
        "alpha",
        &[&slow_expiry[..], &["-g", "10.99.1.1:31337"]].concat(),
    );
    let mut b = JsonPeer::spawn(
        &lab,
        "b",
        "lan2",
        "bravo",
        &[&slow_expiry[..], &["-g", "10.99.2.1:31337"]].concat(),
    );

    let (a_id, b_id) = (a.uuid.clone(), b.uuid.clone());
    // Each sees the other ENTER with its endpoint in the other subnet.
    for (seer, id, name, lan, prefix) in [
        (&mut a, &b_id, "bravo", "lan2", "tcp://10.99.2.2:"),
        (&mut b, &a_id, "alpha", "lan1", "tcp://10.99.1.2:"),
    ] {
        let enter = seer.wait_for(
            &format!("ENTER of {name} from {lan}"),
            |e| e.is("ENTER") && e.peer() == id && e.name() == name,
            WAIT,
        );
        assert!(
            enter.str("endpoint").is_some_and(|ep| ep.starts_with(prefix)),
            "{name}'s endpoint is not in {lan}: {enter}"
        );
    }

    a.send_line("/join g");
    b.send_line("/join g");
    a.wait_for(
        "JOIN g by bravo",
        |e| e.is("JOIN") && e.peer() == b_id && e.group() == "g",
        WAIT,
    );
    b.wait_for(
        "JOIN g by alpha",
        |e| e.is("JOIN") && e.peer() == a_id && e.group() == "g",
        WAIT,
    );

    a.send_line("/shout g hello from alpha");
    b.wait_for(
        "SHOUT from alpha to g",
        |e| e.is("SHOUT") && e.peer() == a_id && e.group() == "g" && e.content() == ["hello from alpha"],
        WAIT,
    );
    b.send_line("/whisper alpha psst from bravo");
    a.wait_for(
        "WHISPER from bravo",
        |e| e.is("WHISPER") && e.peer() == b_id && e.name() == "bravo" && e.content() == ["psst from bravo"],
        WAIT,
    );
    a.send_line("/whisper bravo psst from alpha");
    b.wait_for(
        "WHISPER from alpha",
        |e| e.is("WHISPER") && e.peer() == a_id && e.content() == ["psst from alpha"],
        WAIT,
    );

    let status = b.quit(WAIT);
    assert!(status.success(), "bravo exited with {status}\n{}", b.report());
    a.wait_for(
        "EXIT of bravo after its /quit",
        |e| e.is("EXIT") && e.peer() == b_id,
        WAIT,
    );
    assert_eq!(
        a.count(|e| e.is("ENTER")),
        1,
        "alpha met more than bravo\n{}",
        a.report()
    );
}

/// Two servers linked server-to-server, a client on each: each node is
/// entered exactly once and each tuple delivered exactly once per server,
/// also after the clients' re-publishes.
#[test]
fn linked_servers_deliver_each_tuple_once() {
    let Some(mut lab) = Lab::new("linked") else { return };
    lab.lan(
        "lan",
        "10.99.5.0/24",
        &[
            ("sa", "10.99.5.1"),
            ("sb", "10.99.5.2"),
            ("na", "10.99.5.11"),
            ("nb", "10.99.5.12"),
        ],
    );
    let server_a = gossip_server(&lab, "sa", &[]);
    let mut server_b = gossip_server(&lab, "sb", &["--connect", "tcp://10.99.5.1:31337"]);
    let mut na = JsonPeer::spawn(
        &lab,
        "na",
        "lan",
        "north",
        &["--no-beacon", "-g", "10.99.5.1:31337"],
    );
    let mut nb = JsonPeer::spawn(
        &lab,
        "nb",
        "lan",
        "south",
        &["--no-beacon", "-g", "10.99.5.2:31337"],
    );

    na.wait_for("ENTER of south", enter_of(&nb), WAIT);
    nb.wait_for("ENTER of north", enter_of(&na), WAIT);
    na.send_line("/whisper south ping");
    nb.wait_for(
        "WHISPER from north",
        |e| e.is("WHISPER") && e.content() == ["ping"],
        WAIT,
    );
    nb.send_line("/whisper north pong");
    na.wait_for(
        "WHISPER from south",
        |e| e.is("WHISPER") && e.content() == ["pong"],
        WAIT,
    );
    let na_key = na.uuid.clone();
    server_b.wait_stdout("DELIVER of north's tuple", |l| is_deliver(l, &na_key), WAIT);

    // Clients re-publish every third of their tuple's ttl (the expiry,
    // 30 s by default): let a re-publish and any echo between the servers
    // happen before counting.
    thread::sleep(Duration::from_secs(12));
    let report = || format!("{}{}{}", na.report(), nb.report(), lab.report());
    assert_eq!(na.count(|e| e.is("ENTER")), 1, "north: ENTER count\n{}", report());
    assert_eq!(nb.count(|e| e.is("ENTER")), 1, "south: ENTER count\n{}", report());
    assert_eq!(
        delivers(&server_b, &na.uuid),
        1,
        "far server B: north's tuple\n{}",
        report()
    );
    assert_eq!(
        delivers(&server_a, &nb.uuid),
        1,
        "far server A: south's tuple\n{}",
        report()
    );
    assert_eq!(
        delivers(&server_a, &na.uuid),
        1,
        "server A: north's own tuple\n{}",
        report()
    );
    assert_eq!(
        delivers(&server_b, &nb.uuid),
        1,
        "server B: south's own tuple\n{}",
        report()
    );
}

/// The server is killed and started again on the same endpoint: its
/// clients say HELLO and publish again, so a node that comes later is
/// found by both of them (and finds them).
#[test]
fn clients_recover_after_a_server_restart() {
    let Some(mut lab) = Lab::new("restart") else {
        return;
    };
    lab.lan(
        "lan",
        "10.99.6.0/24",
        &[
            ("s", "10.99.6.1"),
            ("n1", "10.99.6.11"),
            ("n2", "10.99.6.12"),
            ("n3", "10.99.6.13"),
        ],
    );
    let args = ["--no-beacon", "-g", "10.99.6.1:31337"];
    let mut server = gossip_server(&lab, "s", &[]);
    let mut n1 = JsonPeer::spawn(&lab, "n1", "lan", "one", &args);
    let mut n2 = JsonPeer::spawn(&lab, "n2", "lan", "two", &args);
    n1.wait_for("ENTER of two", enter_of(&n2), WAIT);
    n2.wait_for("ENTER of one", enter_of(&n1), WAIT);

    server.kill();
    // A fresh server knows nothing: only re-HELLO and re-publish by the
    // clients can fill it again.
    let _server = gossip_server(&lab, "s", &[]);
    let mut n3 = JsonPeer::spawn(&lab, "n3", "lan", "three", &args);
    n1.wait_for("ENTER of three (after the restart)", enter_of(&n3), WAIT);
    n2.wait_for("ENTER of three (after the restart)", enter_of(&n3), WAIT);
    n3.wait_for("ENTER of one", enter_of(&n1), WAIT);
    n3.wait_for("ENTER of two", enter_of(&n2), WAIT);
}
