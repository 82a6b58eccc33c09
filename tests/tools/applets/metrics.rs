//! `zre --metrics ADDR`: the node's counters scraped over HTTP as an
//! operator's Prometheus would, through the binary, on the loopback.

use super::*;
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};

/// The address zre printed on stderr (`zre: metrics at http://ADDR/metrics`).
fn metrics_addr(node: &Proc) -> SocketAddr {
    let deadline = Instant::now() + SHORT;
    loop {
        let stderr = node.stderr();
        // Only a whole line: stderr may be read while zre writes it (a
        // fresh-clone CI run read "metrics at http://" alone).
        let line = stderr
            .split("metrics at http://")
            .nth(1)
            .and_then(|rest| rest.split_once('\n'));
        if let Some((rest, _)) = line {
            let addr = rest.split("/metrics").next().unwrap_or_default();
            return addr
                .parse()
                .unwrap_or_else(|e| panic!("bad address {addr:?} ({e}); {}", node.context()));
        }
        assert!(
            Instant::now() < deadline,
            "no metrics address; {}",
            node.context()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One plain HTTP/1.0 request; the status line, the headers and the body,
/// or `None` if the server closed the connection without an answer (it
/// does when it already serves as many connections as it takes).
fn try_http_get(addr: SocketAddr, path: &str) -> Option<(String, String, String)> {
    let mut stream = TcpStream::connect(addr).expect("connect to the metrics endpoint");
    stream.set_read_timeout(Some(SHORT)).expect("read timeout");
    // A write to a connection the server closed at once may fail.
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    Some((status.to_owned(), headers.to_ascii_lowercase(), body.to_owned()))
}

/// [`try_http_get`] until it gets an answer.
fn http_get(addr: SocketAddr, path: &str) -> (String, String, String) {
    let deadline = Instant::now() + SHORT;
    loop {
        if let Some(response) = try_http_get(addr, path) {
            return response;
        }
        assert!(
            Instant::now() < deadline,
            "no answer to GET {path} within {SHORT:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `GET /metrics`, checked as the Prometheus text format (0.0.4): every
/// sample named in a `# TYPE` line before it, `_total` on counters. The
/// samples by name with labels, as written (`zre_peer_removals_total{cause="left"}`).
fn scrape(addr: SocketAddr) -> (HashMap<String, f64>, String) {
    let (status, headers, body) = http_get(addr, "/metrics");
    assert!(status.ends_with(" 200 OK"), "{status}\n{body}");
    assert!(
        headers.contains("content-type: text/plain; version=0.0.4"),
        "{headers}"
    );
    let mut types = HashMap::new();
    let mut samples = HashMap::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE NAME KIND");
            assert!(name.starts_with("zre_"), "{line}");
            assert_eq!(kind == "counter", name.ends_with("_total"), "{line}");
            types.insert(name.to_owned(), kind.to_owned());
        } else if !line.starts_with('#') {
            let (series, value) = line.rsplit_once(' ').expect("NAME VALUE");
            let name = series.split('{').next().unwrap_or_default();
            assert!(types.contains_key(name), "{line}: no # TYPE before it\n{body}");
            let value: f64 = value.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
            samples.insert(series.to_owned(), value);
        }
    }
    (samples, body)
}

fn removals(samples: &HashMap<String, f64>, cause: &str) -> f64 {
    samples[&format!("zre_peer_removals_total{{cause=\"{cause}\"}}")]
}

/// Scrapes until `wanted` holds (the node reports what it saw a moment ago).
fn scrape_until(
    addr: SocketAddr,
    what: &str,
    wanted: impl Fn(&HashMap<String, f64>) -> bool,
) -> HashMap<String, f64> {
    let deadline = Instant::now() + SHORT;
    loop {
        let (samples, body) = scrape(addr);
        if wanted(&samples) {
            return samples;
        }
        assert!(Instant::now() < deadline, "not {what} within {SHORT:?}:\n{body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn metrics_count_the_peer_met_its_kill_and_a_clean_leave() {
    let bin = Bin::new("metrics");
    let node = lo(private_beacon_port());
    let mut alice = Proc::start(
        "alice",
        bin.command(
            "zre",
            &with(&node, &["--json", "-n", "alice", "--metrics", "127.0.0.1:0"]),
        ),
        true,
    );
    alice.wait_json(&[r#""event":"READY""#]);
    let addr = metrics_addr(&alice);
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");

    let (samples, body) = scrape(addr);
    assert_eq!(samples["zre_peers"], 0.0, "{body}");
    assert!(samples["zre_max_peers"] >= 1.0, "{body}");
    assert!(samples["zre_open_fds"] >= 3.0, "{body}");
    for cause in [
        "expired",
        "left",
        "unreachable",
        "restarted",
        "refused",
        "made_room",
    ] {
        assert_eq!(removals(&samples, cause), 0.0, "{cause}: {body}");
    }
    // Anything but /metrics is not found.
    let (status, _, _) = http_get(addr, "/");
    assert!(status.ends_with(" 404 Not Found"), "{status}");

    // HTTP clients that send half a request and then nothing hold neither
    // the node (bob is met), nor more than a few descriptors, nor the
    // scrapes for long (each has a deadline).
    let fds_before = samples["zre_open_fds"];
    let stalled: Vec<TcpStream> = (0..40)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).expect("connect");
            // Closed by the server at once, for most: that may fail.
            let _ = stream.write_all(b"GET /metr");
            stream
        })
        .collect();
    let bob = Proc::start(
        "bob",
        bin.command("zre", &with(&node, &["--json", "-n", "bob"])),
        true,
    );
    alice.wait_json(&[r#""event":"ENTER""#, r#""name":"bob""#]);
    let samples = scrape_until(addr, "1 peer", |s| s["zre_peers"] == 1.0);
    assert_eq!(removals(&samples, "unreachable"), 0.0);
    // bob's link and its monitor, and at most a few HTTP connections.
    assert!(
        samples["zre_open_fds"] < fds_before + 20.0,
        "{fds_before} descriptors before 40 stalled connections, {samples:?}"
    );

    // Killed: its inbox port refuses the reconnect, a fast EXIT.
    bob.signal("KILL");
    alice.wait_json(&[r#""event":"EXIT""#, r#""name":"bob""#]);
    let samples = scrape_until(addr, "0 peers", |s| s["zre_peers"] == 0.0);
    assert_eq!(removals(&samples, "unreachable"), 1.0, "{samples:?}");
    assert_eq!(removals(&samples, "left"), 0.0, "{samples:?}");
    assert!(samples["zre_probes_total"] >= 1.0, "{samples:?}");

    // A peer that quits: one more removal. Its cause is `left` (its
    // GOODBYE or port-0 beacon) or, as seen on the loopback, `unreachable`:
    // its closed connection makes us probe its inbox before its GOODBYE is
    // read, and the probe is refused.
    let mut carol = Proc::start(
        "carol",
        bin.command("zre", &with(&node, &["--json", "-n", "carol"])),
        true,
    );
    alice.wait_json(&[r#""event":"ENTER""#, r#""name":"carol""#]);
    carol.wait_json(&[r#""event":"ENTER""#, r#""name":"alice""#]);
    let samples = scrape_until(addr, "1 peer again", |s| s["zre_peers"] == 1.0);
    assert_eq!(removals(&samples, "unreachable"), 1.0, "{samples:?}");
    carol.close_stdin();
    alice.wait_json(&[r#""event":"EXIT""#, r#""name":"carol""#]);
    let samples = scrape_until(addr, "0 peers again", |s| s["zre_peers"] == 0.0);
    let total: f64 = samples
        .iter()
        .filter(|(series, _)| series.starts_with("zre_peer_removals_total{"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(total, 2.0, "{samples:?}");
    assert_eq!(
        removals(&samples, "left") + removals(&samples, "unreachable"),
        2.0,
        "{samples:?}"
    );
    drop(stalled);
    assert!(
        alice.child.try_wait().expect("try_wait").is_none(),
        "{}",
        alice.context()
    );
}

#[test]
fn a_bad_metrics_address_or_a_port_in_use_stops_zre_at_start() {
    let bin = Bin::new("metrics-bad");
    let node = lo(private_beacon_port());
    for bad in ["localhost", "127.0.0.1", "9100", "127.0.0.1:99999", "[::1]"] {
        let (status, stdout, stderr) =
            run_to_end("zre", bin.command("zre", &with(&node, &["--metrics", bad])));
        assert_eq!(status.code(), Some(2), "{bad}: {stderr}");
        assert!(stdout.is_empty(), "{bad}: {stdout}");
        assert!(
            stderr.starts_with(&format!("zre: --metrics: invalid address \"{bad}\"")),
            "{bad}: {stderr}"
        );
    }
    // In zre.conf: the file and line, status 1 as for the file's other errors.
    let config = bin.path("metrics.conf");
    fs::write(&config, "[zre]\nmetrics = nowhere\n").expect("write metrics.conf");
    let mut command = bin.command("zre", &with(&node, &[]));
    command.env("ZRECFG", &config);
    let (status, stdout, stderr) = run_to_end("zre", command);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains(&format!("{}:2: metrics = invalid address", config.display())),
        "{stderr}"
    );
    // A port in use: status 1 before the node starts (no READY).
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let addr = taken.local_addr().expect("local address").to_string();
    let (status, stdout, stderr) = run_to_end("zre", bin.command("zre", &with(&node, &["--metrics", &addr])));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.starts_with(&format!("zre: --metrics {addr}: ")) && stderr.contains("in use"),
        "{stderr}"
    );
}
