//! CURVE (RFC 26) on loopback: the build, certificates, and nodes in CURVE
//! mode meeting on 127.255.255.255 with a private beacon port per test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use zre::{Certificate, Event, Node, PortRange};

/// Bounded waits: a condition that does not come true in this long fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// The libzmq inside the zmq crate is built with libsodium
/// (vendor/zmq-sys): without that it has no CURVE mechanism at all.
#[test]
fn libzmq_has_curve() {
    assert!(zmq::has("curve").unwrap_or(false), "libzmq built without CURVE");
    // A key pair works (libzmq answers ENOTSUP without CURVE).
    let pair = zmq::CurveKeyPair::new().expect("zmq_curve_keypair");
    assert_ne!(pair.public_key, pair.secret_key);
}

/// A directory of its own under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("zre-curve-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn node(name: &str, port: u16, cert: Option<&Certificate>, allow: Option<&Path>) -> Node {
    let mut builder = Node::builder()
        .name(name)
        .interface("lo")
        .beacon_port(port)
        .beacon_interval(Duration::from_millis(100))
        .port_range(PortRange::Any);
    if let Some(cert) = cert {
        builder = builder.curve(cert.clone());
    }
    if let Some(dir) = allow {
        builder = builder.curve_allow(dir);
    }
    builder.build().expect("node starts in loopback mode")
}

/// Polls every node, collecting events, until `done` says so (or, with
/// `must` false, until the time is up: then it returns false).
fn run_for(
    nodes: &mut [Node],
    seen: &mut [Vec<Event>],
    patience: Duration,
    mut done: impl FnMut(&[Vec<Event>]) -> bool,
) -> bool {
    let deadline = Instant::now() + patience;
    while !done(seen) {
        if Instant::now() >= deadline {
            return false;
        }
        for (node, events) in nodes.iter_mut().zip(seen.iter_mut()) {
            node.run_once(Some(Duration::from_millis(5))).unwrap();
            while let Some(event) = node.next_event() {
                events.push(event);
            }
        }
    }
    true
}

fn run_until(nodes: &mut [Node], seen: &mut [Vec<Event>], done: impl FnMut(&[Vec<Event>]) -> bool) {
    assert!(
        run_for(nodes, seen, PATIENCE, done),
        "condition not reached; events so far: {seen:#?}"
    );
}

fn count(events: &[Event], kind: &str) -> usize {
    events.iter().filter(|e| e.kind() == kind).count()
}

fn entered(events: &[Event], peer: uuid::Uuid) -> bool {
    events
        .iter()
        .any(|e| e.kind() == "ENTER" && e.peer() == Some(peer))
}

#[test]
fn curve_nodes_meet_shout_and_whisper_both_ways() {
    let port = 53031;
    let (a, b) = (Certificate::generate().unwrap(), Certificate::generate().unwrap());
    let mut nodes = vec![
        node("alice", port, Some(&a), None),
        node("bob", port, Some(&b), None),
    ];
    let mut seen = vec![Vec::new(), Vec::new()];
    let (alice, bob) = (nodes[0].uuid(), nodes[1].uuid());
    run_until(&mut nodes, &mut seen, |s| {
        entered(&s[0], bob) && entered(&s[1], alice)
    });

    nodes[0].join("secure").unwrap();
    nodes[1].join("secure").unwrap();
    run_until(&mut nodes, &mut seen, |s| {
        count(&s[0], "JOIN") == 1 && count(&s[1], "JOIN") == 1
    });
    assert_eq!(nodes[0].shout_str("secure", "from alice").unwrap(), 1);
    assert_eq!(nodes[1].shout_str("secure", "from bob").unwrap(), 1);
    nodes[0].whisper_str(bob, "psst bob").unwrap();
    nodes[1].whisper_str(alice, "psst alice").unwrap();
    run_until(&mut nodes, &mut seen, |s| {
        s.iter()
            .all(|e| count(e, "SHOUT") == 1 && count(e, "WHISPER") == 1)
    });
    let content = |events: &[Event], kind: &str| {
        events
            .iter()
            .find(|e| e.kind() == kind)
            .and_then(|e| e.content().map(|c| c.to_vec()))
            .unwrap()
    };
    assert_eq!(content(&seen[1], "SHOUT"), vec![b"from alice".to_vec()]);
    assert_eq!(content(&seen[0], "SHOUT"), vec![b"from bob".to_vec()]);
    assert_eq!(content(&seen[1], "WHISPER"), vec![b"psst bob".to_vec()]);
    assert_eq!(content(&seen[0], "WHISPER"), vec![b"psst alice".to_vec()]);
}

/// A secure node whose allow-list holds a friend's certificate: the friend
/// gets in; a CURVE node with another key and a plain node never see an
/// ENTER for it, nor it for them. A key added to the directory later is
/// let in without a restart.
#[test]
fn allow_list_keeps_other_keys_out() {
    let port = 53032;
    let dir = TempDir::new("allow");
    let allowed = dir.0.join("allowed");
    std::fs::create_dir(&allowed).unwrap();
    let (secure, friend, intruder) = (
        Certificate::generate().unwrap(),
        Certificate::generate().unwrap(),
        Certificate::generate().unwrap(),
    );
    // The friend's public file only, as a user would hand it over.
    friend.save(&dir.0.join("friend")).unwrap();
    std::fs::copy(dir.0.join("friend"), allowed.join("friend.cert")).unwrap();

    let mut nodes = vec![
        node("secure", port, Some(&secure), Some(&allowed)),
        node("friend", port, Some(&friend), None),
        node("intruder", port, Some(&intruder), None),
        node("plain", port, None, None),
    ];
    let mut seen = vec![Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    let ids: Vec<_> = nodes.iter().map(|n| n.uuid()).collect();
    nodes[0].join("g").unwrap();
    run_until(&mut nodes, &mut seen, |s| {
        entered(&s[0], ids[1]) && entered(&s[1], ids[0])
    });
    // The intruder meets the friend (no allow-list there), proof that it
    // runs and is heard, and keeps missing the secure node.
    run_until(&mut nodes, &mut seen, |s| entered(&s[2], ids[1]));
    assert!(!run_for(&mut nodes, &mut seen, Duration::from_secs(3), |s| {
        entered(&s[0], ids[2]) || entered(&s[2], ids[0])
    }));
    nodes[0].shout_str("g", "members only").unwrap();
    run_for(&mut nodes, &mut seen, Duration::from_millis(500), |_| false);
    for (i, events) in seen.iter().enumerate().skip(2) {
        assert!(
            !entered(events, ids[0]),
            "node {i} saw the secure node: {events:#?}"
        );
        assert!(!entered(&seen[0], ids[i]), "the secure node saw node {i}");
        assert_eq!(count(events, "SHOUT"), 0);
    }

    // Handing the intruder's certificate over lets it in (re-read within
    // a second, on its next handshake).
    intruder.save(&dir.0.join("intruder")).unwrap();
    std::fs::copy(dir.0.join("intruder"), allowed.join("intruder.cert")).unwrap();
    run_until(&mut nodes, &mut seen, |s| {
        entered(&s[0], ids[2]) && entered(&s[2], ids[0])
    });
    assert!(!entered(&seen[0], ids[3]) && !entered(&seen[3], ids[0]));
}

fn zre(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zre"))
        .args(args)
        .env_remove("ZRECFG")
        .output()
        .expect("run zre");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn keygen_writes_zcert_files_and_bad_ones_are_named() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("keygen");
    let path = dir.0.join("me");
    let path_text = path.to_str().unwrap();
    let (status, stdout, stderr) = zre(&["--curve-keygen", path_text]);
    assert_eq!(status, Some(0), "{stderr}");
    let secret = dir.0.join("me_secret");
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let cert = Certificate::load_secret(&secret).unwrap();
    assert_eq!(Certificate::load(&path).unwrap().public_key, cert.public_key);
    assert!(
        stdout.contains(&zre::wire::curve_key::encode_z85(&cert.public_key)),
        "{stdout}"
    );
    let public = std::fs::read_to_string(&path).unwrap();
    assert!(!public.contains("secret-key"), "{public}");
    // A second run does not overwrite the secret.
    let (status, _, stderr) = zre(&["--curve-keygen", path_text]);
    assert_eq!(status, Some(1));
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(Certificate::load_secret(&secret).unwrap(), cert);

    let run_with = |cert_file: &Path| {
        zre(&[
            "-i",
            "lo",
            "--beacon-port",
            "53033",
            "--port-range",
            "0",
            "--curve-cert",
            cert_file.to_str().unwrap(),
        ])
    };
    // Missing file.
    let missing = dir.0.join("nope_secret");
    let (status, _, stderr) = run_with(&missing);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(stderr.contains(missing.to_str().unwrap()), "{stderr}");
    // A malformed line: its number.
    let bad = dir.0.join("bad_secret");
    let text = std::fs::read_to_string(&secret)
        .unwrap()
        .replace("secret-key = \"", "secret-key = \"~");
    std::fs::write(&bad, &text).unwrap();
    let line = 1 + text.lines().position(|l| l.contains("secret-key")).unwrap();
    let (status, _, stderr) = run_with(&bad);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("{}:{line}:", bad.display())), "{stderr}");
    // A public certificate where the secret one belongs.
    let (status, _, stderr) = run_with(&path);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        stderr.contains("secret-key") && stderr.contains(path_text),
        "{stderr}"
    );
    // An allow-list directory that does not exist.
    let (status, _, stderr) = zre(&[
        "-i",
        "lo",
        "--beacon-port",
        "53034",
        "--port-range",
        "0",
        "--curve-cert",
        secret.to_str().unwrap(),
        "--curve-allow",
        dir.0.join("none").to_str().unwrap(),
    ]);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(stderr.contains("none"), "{stderr}");
}

/// Zyre's `zyre_gossip_connect_curve`: beaconless CURVE nodes meet through
/// a gossip server that serves CURVE clients only (`HOST:PORT|KEY`); the
/// tuples it holds are `endpoint|key`. A node linking to it without the
/// server's key (a plain link) is not heard by it.
#[test]
fn curve_nodes_meet_through_a_curve_gossip_server() {
    use zre::{GossipServerConfig, GossipService};
    let server_cert = Certificate::generate().unwrap();
    let mut server = GossipService::bind_curve(
        &["tcp://127.0.0.1:*"],
        GossipServerConfig::default(),
        &server_cert,
    )
    .unwrap();
    let endpoint = server.endpoints()[0].clone();
    let secured = format!(
        "{endpoint}|{}",
        zre::wire::curve_key::encode_z85(&server_cert.public_key)
    );
    let gossip_node = |name: &str, spec: &str| {
        Node::builder()
            .name(name)
            .interface("lo")
            .beacons(false)
            .port_range(PortRange::Any)
            .gossip(spec)
            .curve(Certificate::generate().unwrap())
            .build()
            .unwrap()
    };
    let mut nodes = vec![
        gossip_node("ga", &secured),
        gossip_node("gb", &secured),
        gossip_node("plain-link", &endpoint),
    ];
    let mut seen = vec![Vec::new(), Vec::new(), Vec::new()];
    let ids: Vec<_> = nodes.iter().map(|n| n.uuid()).collect();
    let deadline = Instant::now() + PATIENCE;
    while !(entered(&seen[0], ids[1]) && entered(&seen[1], ids[0])) {
        assert!(Instant::now() < deadline, "no ENTER via CURVE gossip: {seen:?}");
        server.run_once(Some(Duration::from_millis(5))).unwrap();
        while server.next_event().is_some() {}
        run_for(&mut nodes, &mut seen, Duration::from_millis(10), |_| false);
    }
    let tuples = server.tuples();
    assert_eq!(tuples.len(), 2, "{tuples:?}");
    for (node, cert_key) in nodes.iter().take(2).map(|n| (n, n.uuid())) {
        let key = zre::ZyreUuid(cert_key).to_string();
        let value = &tuples.iter().find(|(k, _)| *k == key).unwrap().1;
        assert!(value.starts_with(&format!("{}|", node.endpoint())), "{value}");
    }
    assert!(seen[2].iter().all(|e| e.kind() != "ENTER"), "{:?}", seen[2]);
}

/// Every log line of this test binary: the in-process nodes log through
/// the `log` crate (tests filter by keys no other test uses).
static LOG_LINES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if let Ok(mut lines) = LOG_LINES.lock() {
            lines.push(format!("{} {}", record.level(), record.args()));
        }
    }
    fn flush(&self) {}
}

/// Issue 25, fault 5, live: a peer that proved key M in its CURVE
/// handshake (our ZAP handler makes it the connection's `User-Id`) and
/// whose HELLO names another key as `X-PUBLICKEY` is refused: no ENTER,
/// no link back, one warning naming both keys. The same HELLO naming M
/// is taken and ENTERs. The peer is a hand-made one (raw libzmq sockets
/// with M's key pair), so that it can lie.
#[test]
fn a_hello_naming_another_key_than_its_handshake_proved_is_refused() {
    let _ = log::set_logger(&Capture);
    log::set_max_level(log::LevelFilter::Warn);
    let port = 53035;
    let a = Certificate::generate().unwrap();
    let (m, other) = (Certificate::generate().unwrap(), Certificate::generate().unwrap());
    let mut nodes = vec![node("honest", port, Some(&a), None)];
    let mut seen = vec![Vec::new()];

    let context = zmq::Context::new();
    // M's inbox, where the node links back: a CURVE server with M's key.
    let inbox = context.socket(zmq::ROUTER).unwrap();
    inbox.set_linger(0).unwrap();
    inbox.set_curve_server(true).unwrap();
    inbox.set_curve_secretkey(&m.secret_key.unwrap()).unwrap();
    inbox.bind("tcp://127.0.0.1:*").unwrap();
    let inbox_endpoint = inbox.get_last_endpoint().unwrap().unwrap();
    let m_uuid = uuid::Uuid::new_v4();
    let node_endpoint = nodes[0].endpoint().to_owned();
    let say_hello = |claimed: &[u8; 32]| {
        let dealer = context.socket(zmq::DEALER).unwrap();
        dealer.set_linger(0).unwrap();
        let identity = zre::core::peer_identity(&m_uuid);
        dealer.set_identity(&identity).unwrap();
        dealer.set_curve_serverkey(&a.public_key).unwrap();
        dealer.set_curve_publickey(&m.public_key).unwrap();
        dealer.set_curve_secretkey(&m.secret_key.unwrap()).unwrap();
        dealer.connect(&node_endpoint).unwrap();
        let key = zre::wire::curve_key::encode_z85(claimed);
        let hello = zre::wire::ZreMessage::new(
            1,
            zre::wire::Body::Hello(Box::new(zre::wire::Hello {
                endpoint: &inbox_endpoint,
                groups: vec![],
                status: 0,
                name: "m",
                headers: vec![("X-PUBLICKEY", key.as_str())],
            })),
        )
        .to_bytes()
        .unwrap();
        dealer.send(hello, 0).unwrap();
        dealer
    };

    let liar = say_hello(&other.public_key);
    let proven = zre::wire::curve_key::encode_z85(&m.public_key);
    let claimed = zre::wire::curve_key::encode_z85(&other.public_key);
    let warned = || -> Vec<String> {
        LOG_LINES
            .lock()
            .map(|lines| lines.iter().filter(|l| l.contains(&proven)).cloned().collect())
            .unwrap_or_default()
    };
    // The warning says the HELLO got through the handshake and was read.
    let deadline = Instant::now() + PATIENCE;
    while warned().is_empty() && Instant::now() < deadline {
        run_for(&mut nodes, &mut seen, Duration::from_millis(100), |_| false);
    }
    run_for(&mut nodes, &mut seen, Duration::from_secs(2), |_| false);
    let lines = warned();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("WARN ") && lines[0].contains(&claimed),
        "{lines:?}"
    );
    assert!(!entered(&seen[0], m_uuid), "{:#?}", seen[0]);
    assert!(nodes[0].peers().is_empty(), "a peer was made for the liar");
    assert_eq!(
        inbox.poll(zmq::POLLIN, 0).unwrap(),
        0,
        "the node linked back to the liar"
    );
    drop(liar);

    // Honest, it gets in (our link back gets through its handshake too).
    let _honest = say_hello(&m.public_key);
    run_until(&mut nodes, &mut seen, |s| entered(&s[0], m_uuid));
    assert_eq!(
        nodes[0].peer_header_value(m_uuid, "X-PUBLICKEY"),
        Some(proven.as_str())
    );
}
