//! Starting the peers of a live test, written once: a lab that skips or
//! fails for a missing reference, our node with fast beacons, and the
//! reference implementations behind the `zre --json` contract (Zyre 2.0.1
//! through `tests/interop/zyre_peer.c`, pyre, zyre.js).

use super::cdrivers;
use super::netns::{ChildGuard, JsonPeer, Lab, WAIT, ZRE};
use super::refpeers::{self, Family};

const PYRE_DRIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/pyre_peer.py");
const ZYREJS_DRIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/js/zyrejs_peer.js");

/// A lab for `test` (namespaces named after `tag`) when every one of
/// `families` is installed (else the install hint, or a skip with
/// `ZRE_SKIP_INTEROP=1`) and namespaces can be made; the C drivers the
/// families need are built first, so that a compiler error names itself.
pub fn live_lab(test: &str, tag: &str, families: &[Family]) -> Option<Lab> {
    if !refpeers::require(test, families) {
        return None;
    }
    let lab = Lab::new(tag)?;
    if families.contains(&Family::ZyreC) {
        cdrivers::zyre_peer();
    }
    if families.contains(&Family::Czmq) {
        cdrivers::czmq_gossip();
    }
    Some(lab)
}

/// Our node on `host`, on `lan`, beaconing every 100 ms, with `extra`
/// options.
pub fn ours(lab: &Lab, host: &str, lan: &str, name: &str, extra: &[&str]) -> JsonPeer {
    let mut args = vec!["--beacon-interval", "100ms"];
    args.extend_from_slice(extra);
    JsonPeer::spawn(lab, host, lan, name, &args)
}

/// A Zyre 2.0.1 node on `host`, on interface `lan`, with `extra` driver
/// options (`--beacon-interval 100`, `--gossip tcp://…`, …).
pub fn zyre(lab: &Lab, host: &str, lan: &str, name: &str, extra: &[&str]) -> JsonPeer {
    zyre_with_env(lab, host, lan, name, extra, &[])
}

/// [`zyre`] with this environment (e.g. `ZSYS_IPV6=1`). With
/// `ZRE_INTEROP_SHOW` set, Zyre also tells its own story (`--verbose`:
/// zsys_info on stderr).
pub fn zyre_with_env(
    lab: &Lab,
    host: &str,
    lan: &str,
    name: &str,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> JsonPeer {
    let driver = cdrivers::zyre_peer();
    let mut args = vec!["--name", name, "--iface", lan];
    args.extend_from_slice(extra);
    if std::env::var_os("ZRE_INTEROP_SHOW").is_some() {
        args.push("--verbose");
    }
    let child = lab.spawn_as(
        &format!("zyre {name}@{host}"),
        host,
        driver.to_str().expect("driver path is UTF-8"),
        &args,
        envs,
    );
    JsonPeer::adopt(child)
}

/// A pyre node on `host` (it beacons on every interface, every second).
pub fn pyre(lab: &Lab, host: &str, name: &str, extra: &[&str]) -> JsonPeer {
    let mut args = vec!["-u", PYRE_DRIVER, "--name", name];
    args.extend_from_slice(extra);
    let child = lab.spawn_as(
        &format!("pyre {name}@{host}"),
        host,
        "python3",
        &args,
        &[("PYTHONDONTWRITEBYTECODE", "1")],
    );
    JsonPeer::adopt(child)
}

/// A zyre.js node on `host`, on interface `lan`, beaconing every 100 ms,
/// with its debug log on stderr.
pub fn zyrejs(lab: &Lab, host: &str, lan: &str, name: &str, extra: &[&str]) -> JsonPeer {
    let mut args = vec![
        ZYREJS_DRIVER,
        "--name",
        name,
        "--iface",
        lan,
        "--beacon-interval",
        "100",
    ];
    args.extend_from_slice(extra);
    let child = lab.spawn_as(
        &format!("zyre.js {name}@{host}"),
        host,
        "node",
        &args,
        &[("DEBUG", "zyre:*"), ("DEBUG_COLORS", "0")],
    );
    JsonPeer::adopt(child)
}

/// Our ZGossip server on `host`: `zre zgossip_server ARGS` (`--bind …`,
/// `--connect …`), logging at `RUST_LOG` (default debug).
pub fn gossip_server(lab: &Lab, host: &str, args: &[&str]) -> ChildGuard {
    let log = std::env::var("RUST_LOG").unwrap_or_else(|_| "debug".into());
    gossip_server_logging(lab, host, args, &log)
}

/// [`gossip_server`] logging at `log` (a `RUST_LOG` filter) whatever the
/// environment says, for a test that waits for one of its log lines.
pub fn gossip_server_logging(lab: &Lab, host: &str, args: &[&str], log: &str) -> ChildGuard {
    let mut all = vec!["zgossip_server"];
    all.extend_from_slice(args);
    let label = format!("our zgossip_server@{host}");
    lab.spawn_as(&label, host, ZRE, &all, &[("RUST_LOG", log)])
}

/// czmq's ZGossip server (`tests/interop/czmq_gossip.c`) on `host`, bound
/// to its address on `lan` port 31337, connected to `connect` (other
/// servers' tcp:// endpoints); READY.
pub fn czmq_server(lab: &Lab, host: &str, lan: &str, connect: &[&str]) -> ChildGuard {
    let driver = cdrivers::czmq_gossip();
    let bind = format!("tcp://{}:31337", lab.addr(host, lan));
    let mut args = vec![bind.as_str()];
    args.extend_from_slice(connect);
    let mut child = lab.spawn_as(
        &format!("czmq zgossip@{host}"),
        host,
        driver.to_str().expect("driver path is UTF-8"),
        &args,
        &[],
    );
    child.wait_stdout("READY", |l| l == "READY 31337", WAIT);
    child
}

/// Whether a ZGossip server (czmq's driver or our `zgossip_server`) says
/// `DELIVER <uuid> <value>`, waiting up to [`WAIT`] for the line: a server
/// may learn a tuple after the peers have met (e.g. through the other
/// server of a chain), so its output is never judged at one instant.
pub fn delivered(server: &ChildGuard, uuid: &str, value: &str) -> bool {
    let is_tuple = |l: &str| {
        let words: Vec<&str> = l.split_whitespace().collect();
        words.len() == 3 && words[0] == "DELIVER" && words[1].eq_ignore_ascii_case(uuid) && words[2] == value
    };
    server.stdout().wait_for(is_tuple, WAIT).is_some()
}
