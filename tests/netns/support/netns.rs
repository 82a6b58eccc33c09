//! A Linux network-namespace lab for tests that need real, separate hosts:
//! LANs with broadcast, routers that forward unicast (and never broadcast),
//! firewalls, and processes running "on" a host.
//!
//! Safety: everything lives in network namespaces that the lab creates
//! itself. Nothing is ever added to the root namespace: bridges live in a
//! namespace of their own, veth pairs are created inside namespaces and
//! handed straight to the peer namespace, addresses are private 10.x ones
//! with no default route. Dropping the [`Lab`] (also while a test panics)
//! deletes its namespaces, which destroys their veths and bridges; dropping a
//! [`ChildGuard`] kills and reaps its process.
//!
//! Namespaces are named `zrelab-<pid>-<lab number>-<tag>-<host>`, so parallel
//! tests and runs never collide; [`Lab::new`] first removes namespaces of
//! this prefix whose process is gone (leftovers of a killed run).
//!
//! ```ignore
//! use crate::support::netns;
//! let Some(mut lab) = netns::Lab::new("demo") else { return };
//! lab.lan("lan1", "10.99.1.0/24", &[("a", "10.99.1.2")]);
//! lab.lan("lan2", "10.99.2.0/24", &[("b", "10.99.2.2")]);
//! lab.router("r", &[("lan1", "10.99.1.1"), ("lan2", "10.99.2.1")]);
//! let peer = netns::JsonPeer::spawn(&lab, "a", "lan1", "alpha", &[]);
//! ```
//!
//! A host's interface on a LAN is named after the LAN (`-i lan1`).
//!
//! Without root (and without `CI` set) [`Lab::new`] prints why and returns
//! `None` so the test can skip; with `CI` set, a lab that cannot be built
//! fails the test.

use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::refpeers;
use super::turns::Turn;

/// Every namespace of this harness starts with this.
pub const PREFIX: &str = "zrelab";
/// Our `zre` binary (the `tools` feature builds it).
pub const ZRE: &str = env!("CARGO_BIN_EXE_zre");
/// The default bound on waits for a condition.
pub const WAIT: Duration = Duration::from_secs(30);
/// How many lines of each stream a failure report shows.
const REPORT_LINES: usize = 80;

static LAB_SEQ: AtomicUsize = AtomicUsize::new(0);

/// Writes a line to the real stdout, past the test harness's capture, so
/// that the CI log shows the figures of passing runs too.
#[allow(unused_macros)]
macro_rules! figure {
    ($($arg:tt)*) => {{
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, $($arg)*);
        let _ = out.flush();
    }};
}

/// True when running in CI (`CI` set to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn run(cmd: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{cmd} {}`: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{cmd} {}` failed ({}): {}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        ))
    }
}

fn check_name(what: &str, name: &str, max: usize) {
    assert!(
        !name.is_empty()
            && name.len() <= max
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && name != "lo",
        "{what} name {name:?}: use 1..={max} lowercase letters and digits"
    );
}

/// `ip netns list` (empty if it cannot run).
pub fn list_namespaces() -> String {
    run("ip", &["netns", "list"]).unwrap_or_default()
}

/// The namespaces of this harness (by name) whose owning process is gone.
pub fn stale_namespaces() -> Vec<String> {
    let Ok(list) = run("ip", &["netns", "list"]) else {
        return Vec::new();
    };
    list.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|ns| {
            let Some(rest) = ns.strip_prefix(PREFIX).and_then(|r| r.strip_prefix('-')) else {
                return false;
            };
            let Some(Ok(pid)) = rest.split('-').next().map(str::parse::<u32>) else {
                return false;
            };
            !Path::new(&format!("/proc/{pid}")).exists()
        })
        .map(str::to_owned)
        .collect()
}

/// Deletes the namespaces of dead runs of this harness (errors ignored: a
/// parallel test may be deleting the same ones).
pub fn cleanup_stale() {
    for ns in stale_namespaces() {
        let _ = run("ip", &["netns", "del", &ns]);
    }
}

struct Lan {
    ns: String,
    subnet: String,
    prefix_len: u8,
    members: Vec<(String, String)>,
    /// (router host, its address on this LAN)
    routers: Vec<(String, String)>,
}

/// (label, stdout, stderr) of a child, for [`Lab::report`].
type ChildStreams = (String, Arc<Stream>, Arc<Stream>);

/// A set of namespaces (hosts, LAN bridges, routers) deleted on drop.
pub struct Lab {
    tag: String,
    prefix: String,
    namespaces: Vec<String>,
    hosts: HashMap<String, String>,
    /// host -> LANs it is on
    links: HashMap<String, Vec<String>>,
    lans: HashMap<String, Lan>,
    children: Mutex<Vec<ChildStreams>>,
    setpriv: bool,
    /// Dropped last, after the namespaces are gone.
    _turn: Turn,
}

impl Lab {
    /// A new, empty lab; `None` (after printing why) when network
    /// namespaces are unavailable outside CI. In CI that panics instead.
    pub fn new(tag: &str) -> Option<Lab> {
        Lab::with_turn(tag, false)
    }

    /// [`Lab::new`] for a test that loads the CPU on purpose: it waits
    /// until no other lab lives, and no other lab starts while it does
    /// (see `turns.rs`).
    pub fn alone(tag: &str) -> Option<Lab> {
        Lab::with_turn(tag, true)
    }

    fn with_turn(tag: &str, alone: bool) -> Option<Lab> {
        check_name("lab tag", tag, 16);
        let refuse = |why: String| -> Option<Lab> {
            if in_ci() {
                panic!("netns lab {tag:?}: {why} (CI is set, so this is a failure, not a skip)");
            }
            eprintln!("SKIPPED netns lab {tag:?}: {why}; run as root (CI=true makes this a failure)");
            refpeers::log_interop(&format!("netns\t-\t{tag}\t{why}"));
            None
        };
        if effective_uid() != Some(0) {
            return refuse("not root: network namespaces need root".into());
        }
        if let Err(err) = run("ip", &["-V"]) {
            return refuse(format!("iproute2 is missing: {err}"));
        }
        cleanup_stale();
        let seq = LAB_SEQ.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("{PREFIX}-{}-{seq}-{tag}", std::process::id());
        let probe = format!("{prefix}-probe");
        if let Err(err) = run("ip", &["netns", "add", &probe]) {
            return refuse(format!("cannot create a network namespace: {err}"));
        }
        let _ = run("ip", &["netns", "del", &probe]);
        let setpriv = run("setpriv", &["--help"]).is_ok_and(|h| h.contains("--pdeathsig"));
        Some(Lab {
            tag: tag.to_owned(),
            prefix,
            namespaces: Vec::new(),
            hosts: HashMap::new(),
            links: HashMap::new(),
            lans: HashMap::new(),
            children: Mutex::new(Vec::new()),
            setpriv,
            _turn: Turn::take(alone),
        })
    }

    /// `zrelab-<pid>-<n>-<tag>`: every namespace of this lab starts with it.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn add_namespace(&mut self, name: &str) -> String {
        let ns = format!("{}-{name}", self.prefix);
        assert!(
            !self.namespaces.contains(&ns),
            "{name:?} exists already in this lab"
        );
        run("ip", &["netns", "add", &ns]).unwrap_or_else(|e| panic!("{e}"));
        self.namespaces.push(ns.clone());
        run("ip", &["-n", &ns, "link", "set", "lo", "up"]).unwrap_or_else(|e| panic!("{e}"));
        ns
    }

    /// Creates host `name` (a namespace with `lo` up) and returns its
    /// namespace. Names: up to 13 lowercase letters and digits.
    pub fn host(&mut self, name: &str) -> &str {
        check_name("host", name, 13);
        assert!(!self.lans.contains_key(name), "{name:?} is a LAN already");
        let ns = self.add_namespace(name);
        self.hosts.insert(name.to_owned(), ns);
        self.links.insert(name.to_owned(), Vec::new());
        &self.hosts[name]
    }

    /// The namespace of a host.
    pub fn ns(&self, host: &str) -> &str {
        self.hosts
            .get(host)
            .unwrap_or_else(|| panic!("no host {host:?} in lab {:?}", self.tag))
    }

    /// A LAN: a bridge in a namespace of its own, with a veth to each member
    /// host (created if needed); the member's end is named after the LAN and
    /// has the address, with the subnet's broadcast address. `subnet` is
    /// `a.b.c.d/len`. LAN names: up to 15 lowercase letters and digits.
    pub fn lan(&mut self, name: &str, subnet: &str, members: &[(&str, &str)]) {
        check_name("LAN", name, 15);
        assert!(!self.hosts.contains_key(name), "{name:?} is a host already");
        assert!(!self.lans.contains_key(name), "LAN {name:?} exists already");
        let (_, len) = subnet
            .split_once('/')
            .unwrap_or_else(|| panic!("subnet {subnet:?}: expected a.b.c.d/len"));
        let prefix_len: u8 = len
            .parse()
            .ok()
            .filter(|l| *l <= 32)
            .unwrap_or_else(|| panic!("subnet {subnet:?}: bad prefix length"));
        let ns = self.add_namespace(name);
        self.ip_ns(&ns, &["link", "add", "br0", "type", "bridge"]);
        self.ip_ns(&ns, &["link", "set", "br0", "up"]);
        self.lans.insert(
            name.to_owned(),
            Lan {
                ns,
                subnet: subnet.to_owned(),
                prefix_len,
                members: Vec::new(),
                routers: Vec::new(),
            },
        );
        for (host, addr) in members {
            self.attach(host, name, addr);
        }
    }

    /// A LAN on 10.99.`net`.0/24 whose hosts get .2, .3, … in order.
    pub fn numbered_lan(&mut self, name: &str, net: u8, hosts: &[&str]) {
        let addrs: Vec<String> = (2..)
            .take(hosts.len())
            .map(|n| format!("10.99.{net}.{n}"))
            .collect();
        let members: Vec<(&str, &str)> = hosts
            .iter()
            .copied()
            .zip(addrs.iter().map(String::as_str))
            .collect();
        self.lan(name, &format!("10.99.{net}.0/24"), &members);
    }

    /// Gives every member of `lan` a permanent ARP entry for every other
    /// member, so that the hosts never resolve each other at run time.
    /// Needed beyond ~32 hosts: Linux keeps one ARP table for all network
    /// namespaces, and at `gc_thresh3` (1 024 by default) dynamic entries
    /// counted over every namespace it refuses new ones ("neighbor table
    /// overflow" in dmesg), so with N hosts meshing (N·(N−1) entries) the
    /// later hosts could not reach anyone. Permanent entries are exempt from
    /// that count; this changes nothing outside the lab's namespaces.
    pub fn pin_neighbours(&self, lan: &str) {
        let members = self
            .lans
            .get(lan)
            .unwrap_or_else(|| panic!("no LAN {lan:?}"))
            .members
            .clone();
        let macs: Vec<String> = members
            .iter()
            .map(|(host, _)| {
                let line = self.ip_ns(self.ns(host), &["-br", "link", "show", "dev", lan]);
                line.split_whitespace()
                    .nth(2)
                    .unwrap_or_else(|| panic!("lab {:?}: no MAC address in {line:?}", self.tag))
                    .to_owned()
            })
            .collect();
        for (host, _) in &members {
            let batch: String = members
                .iter()
                .zip(&macs)
                .filter(|((other, _), _)| other != host)
                .map(|((_, addr), mac)| {
                    format!("neigh replace {addr} lladdr {mac} dev {lan} nud permanent\n")
                })
                .collect();
            let mut child = Command::new("ip")
                .args(["-n", self.ns(host), "-batch", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("lab {:?}: cannot run ip -batch: {e}", self.tag));
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(batch.as_bytes())
                .unwrap_or_else(|e| panic!("lab {:?}: ip -batch: {e}", self.tag));
            let out = child
                .wait_with_output()
                .unwrap_or_else(|e| panic!("lab {:?}: ip -batch: {e}", self.tag));
            assert!(
                out.status.success(),
                "lab {:?}: pinning neighbours on {host}: {}",
                self.tag,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// Puts `host` (created if needed) on `lan` with address `addr`; if the
    /// LAN has a router, the host gets routes to the router's other subnets.
    pub fn attach(&mut self, host: &str, lan: &str, addr: &str) {
        if !self.hosts.contains_key(host) {
            self.host(host);
        }
        let host_ns = self.hosts[host].clone();
        let (lan_ns, prefix_len) = {
            let l = self.lans.get(lan).unwrap_or_else(|| panic!("no LAN {lan:?}"));
            (l.ns.clone(), l.prefix_len)
        };
        assert!(
            !self.links[host].iter().any(|l| l == lan),
            "{host:?} is on {lan:?} already"
        );
        let port = format!("p{host}");
        // Created inside the bridge's namespace, the peer end goes straight
        // to the host's namespace: no veth ever exists in the root namespace.
        self.ip_ns(
            &lan_ns,
            &[
                "link", "add", &port, "type", "veth", "peer", "name", lan, "netns", &host_ns,
            ],
        );
        self.ip_ns(&lan_ns, &["link", "set", &port, "master", "br0", "up"]);
        let cidr = format!("{addr}/{prefix_len}");
        self.ip_ns(&host_ns, &["addr", "add", &cidr, "brd", "+", "dev", lan]);
        self.ip_ns(&host_ns, &["link", "set", lan, "up"]);
        self.links.get_mut(host).unwrap().push(lan.to_owned());
        self.lans
            .get_mut(lan)
            .unwrap()
            .members
            .push((host.to_owned(), addr.to_owned()));
        let routers = self.lans[lan].routers.clone();
        for (router, via) in routers {
            if router != host {
                self.route_via(host, &router, &via);
            }
        }
    }

    /// Routes from `host` to every subnet of `router` that `host` is not on.
    fn route_via(&mut self, host: &str, router: &str, via: &str) {
        let host_ns = self.hosts[host].clone();
        let mine = self.links[host].clone();
        let subnets: Vec<String> = self.links[router]
            .iter()
            .filter(|l| !mine.contains(l))
            .map(|l| self.lans[l].subnet.clone())
            .collect();
        for subnet in subnets {
            self.ip_ns(&host_ns, &["route", "replace", &subnet, "via", via]);
        }
    }

    /// A router: a host on each given LAN (`(lan, address)`) that forwards
    /// IPv4 unicast between them (broadcast is never forwarded); every other
    /// host on those LANs gets a route to the other subnets through it.
    pub fn router(&mut self, name: &str, links: &[(&str, &str)]) {
        for (lan, addr) in links {
            self.attach(name, lan, addr);
        }
        let ns = self.hosts[name].clone();
        self.exec_ns(&ns, "sh", &["-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]);
        for (lan, addr) in links {
            self.lans
                .get_mut(*lan)
                .unwrap()
                .routers
                .push((name.to_owned(), addr.to_string()));
            let members: Vec<String> = self.lans[*lan]
                .members
                .iter()
                .map(|(h, _)| h.clone())
                .filter(|h| h != name)
                .collect();
            for host in members {
                self.route_via(&host, name, addr);
            }
        }
    }

    /// An IPv6-only LAN (issue 18): a bridge as [`Lab::lan`], each member's
    /// end with IPv6 only: duplicate address detection off (so no address
    /// is ever tentative), no autoconfiguration, its link-local address,
    /// and the given address (`fd00:68::2`, on a /64, added `nodad`) unless
    /// it is empty (link-local only). No IPv4 address at all.
    pub fn lan6(&mut self, name: &str, members: &[(&str, &str)]) {
        check_name("LAN", name, 15);
        assert!(!self.hosts.contains_key(name), "{name:?} is a host already");
        assert!(!self.lans.contains_key(name), "LAN {name:?} exists already");
        let ns = self.add_namespace(name);
        self.ip_ns(&ns, &["link", "add", "br0", "type", "bridge"]);
        self.ip_ns(&ns, &["link", "set", "br0", "up"]);
        self.lans.insert(
            name.to_owned(),
            Lan {
                ns,
                subnet: String::new(),
                prefix_len: 64,
                members: Vec::new(),
                routers: Vec::new(),
            },
        );
        for (host, addr) in members {
            self.attach6(host, name, addr);
        }
    }

    /// Puts `host` (created if needed) on the IPv6 LAN `lan` (see
    /// [`Lab::lan6`]) and waits until its link-local address is there.
    pub fn attach6(&mut self, host: &str, lan: &str, addr: &str) {
        if !self.hosts.contains_key(host) {
            self.host(host);
        }
        let host_ns = self.hosts[host].clone();
        let lan_ns = self
            .lans
            .get(lan)
            .unwrap_or_else(|| panic!("no LAN {lan:?}"))
            .ns
            .clone();
        let port = format!("p{host}");
        self.ip_ns(
            &lan_ns,
            &[
                "link", "add", &port, "type", "veth", "peer", "name", lan, "netns", &host_ns,
            ],
        );
        self.ip_ns(&lan_ns, &["link", "set", &port, "master", "br0", "up"]);
        for key in ["accept_dad", "autoconf"] {
            self.exec_ns(
                &host_ns,
                "sysctl",
                &["-qw", &format!("net.ipv6.conf.{lan}.{key}=0")],
            );
        }
        if !addr.is_empty() {
            self.ip_ns(
                &host_ns,
                &["addr", "add", &format!("{addr}/64"), "dev", lan, "nodad"],
            );
        }
        self.ip_ns(&host_ns, &["link", "set", lan, "up"]);
        self.links.get_mut(host).unwrap().push(lan.to_owned());
        self.lans
            .get_mut(lan)
            .unwrap()
            .members
            .push((host.to_owned(), addr.to_owned()));
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.link_local(host, lan).is_none() {
            assert!(
                Instant::now() < deadline,
                "{host}: no link-local address on {lan}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The link-local IPv6 address of `host` on `lan`, if it has one.
    pub fn link_local(&self, host: &str, lan: &str) -> Option<String> {
        let out = self.ip(host, &["-6", "-o", "addr", "show", "dev", lan, "scope", "link"]);
        out.split_whitespace()
            .skip_while(|w| *w != "inet6")
            .nth(1)
            .and_then(|a| a.split('/').next())
            .map(str::to_owned)
    }

    /// The address of `host` on `lan`.
    pub fn addr(&self, host: &str, lan: &str) -> &str {
        let l = self.lans.get(lan).unwrap_or_else(|| panic!("no LAN {lan:?}"));
        l.members
            .iter()
            .find(|(h, _)| h == host)
            .map(|(_, a)| a.as_str())
            .unwrap_or_else(|| panic!("{host:?} is not on {lan:?}"))
    }

    fn ip_ns(&self, ns: &str, args: &[&str]) -> String {
        let mut all = vec!["-n", ns];
        all.extend_from_slice(args);
        run("ip", &all).unwrap_or_else(|e| panic!("lab {:?}: {e}", self.tag))
    }

    fn exec_ns(&self, ns: &str, cmd: &str, args: &[&str]) -> String {
        let mut all = vec!["netns", "exec", ns, cmd];
        all.extend_from_slice(args);
        run("ip", &all).unwrap_or_else(|e| panic!("lab {:?}: {e}", self.tag))
    }

    /// `ip <args>` inside the host's namespace; stdout, or a panic with stderr.
    pub fn ip(&self, host: &str, args: &[&str]) -> String {
        self.ip_ns(self.ns(host), args)
    }

    /// Runs a command to completion on a host; stdout, or an error with the
    /// exit status and stderr.
    pub fn try_exec(&self, host: &str, cmd: &str, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["netns", "exec", self.ns(host), cmd];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// Runs a command to completion on a host; its stdout, or a panic with
    /// the exit status and stderr.
    pub fn exec(&self, host: &str, cmd: &str, args: &[&str]) -> String {
        self.try_exec(host, cmd, args)
            .unwrap_or_else(|e| panic!("lab {:?}: {e}", self.tag))
    }

    /// Drops UDP to and from `port` on a host (nftables in its namespace):
    /// e.g. port 5670 keeps its beacons off the LAN both ways.
    pub fn block_udp_port(&self, host: &str, port: u16) {
        if run("nft", &["--version"]).is_err() {
            panic!("block_udp_port needs nft: apt-get install nftables");
        }
        let table = "inet zrelab";
        let _ = self.try_exec(host, "nft", &["add", "table", table]);
        for (chain, hook) in [("zin", "input"), ("zout", "output")] {
            self.exec(
                host,
                "nft",
                &[&format!(
                    "add chain {table} {chain} {{ type filter hook {hook} priority 0 ; policy accept ; }}"
                )],
            );
            for dir in ["dport", "sport"] {
                self.exec(
                    host,
                    "nft",
                    &[&format!("add rule {table} {chain} udp {dir} {port} drop")],
                );
            }
        }
    }

    /// Drops UDP arriving at `port` on a host (nftables, input hook only):
    /// the host hears no beacons on that port, while its own still go out.
    pub fn block_udp_input(&self, host: &str, port: u16) {
        if run("nft", &["--version"]).is_err() {
            panic!("block_udp_input needs nft: apt-get install nftables");
        }
        let table = "inet zrelab";
        let _ = self.try_exec(host, "nft", &["add", "table", table]);
        self.exec(
            host,
            "nft",
            &[&format!(
                "add chain {table} zdeaf {{ type filter hook input priority 0 ; policy accept ; }}"
            )],
        );
        self.exec(
            host,
            "nft",
            &[&format!("add rule {table} zdeaf udp dport {port} counter drop")],
        );
    }

    /// How many datagrams [`Lab::block_udp_input`] has dropped on a host.
    pub fn udp_input_dropped(&self, host: &str) -> u64 {
        let rules = self.exec(host, "nft", &["list", "chain", "inet", "zrelab", "zdeaf"]);
        rules
            .split_whitespace()
            .skip_while(|w| *w != "packets")
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no packet counter in {rules}"))
    }

    /// Removes every block that [`Lab::block_udp_port`] or
    /// [`Lab::block_udp_input`] put on a host.
    pub fn unblock_all(&self, host: &str) {
        let _ = self.try_exec(host, "nft", &["delete", "table", "inet", "zrelab"]);
    }

    /// Starts `cmd args` on a host with `envs` added to the environment,
    /// stdin/stdout/stderr piped (stdout and stderr are collected by
    /// threads). With util-linux's `setpriv`, the child also gets SIGKILL if
    /// the thread that started it ends, so a killed test leaves nothing
    /// running: start children from the test's own thread.
    pub fn spawn(&self, host: &str, cmd: &str, args: &[&str], envs: &[(&str, &str)]) -> ChildGuard {
        let program = Path::new(cmd)
            .file_name()
            .map_or(cmd.into(), |f| f.to_string_lossy());
        let label = match args.first() {
            Some(first) if !first.starts_with('-') => format!("{program} {first}@{host}"),
            _ => format!("{program}@{host}"),
        };
        self.spawn_as(&label, host, cmd, args, envs)
    }

    /// [`Lab::spawn`] with the label that reports show for the child.
    pub fn spawn_as(
        &self,
        label: &str,
        host: &str,
        cmd: &str,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> ChildGuard {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", self.ns(host)]);
        if self.setpriv {
            command.args(["setpriv", "--pdeathsig", "KILL", "--"]);
        }
        command.arg(cmd).args(args);
        for (k, v) in envs {
            command.env(k, v);
        }
        let guard = ChildGuard::start(label.to_owned(), command);
        self.children
            .lock()
            .unwrap()
            .push((guard.label.clone(), guard.stdout.clone(), guard.stderr.clone()));
        guard
    }

    /// With `ZRE_INTEROP_SHOW` set, prints what every process of the lab said
    /// (also when the test passes).
    pub fn show(&self) {
        if std::env::var_os("ZRE_INTEROP_SHOW").is_some() {
            eprintln!("{}", self.report());
        }
    }

    /// The output of every child this lab started (tails of each stream).
    pub fn report(&self) -> String {
        let mut text = String::new();
        for (label, out, err) in self.children.lock().unwrap().iter() {
            text += &format!("===== {label}: stdout =====\n{}", out.tail(REPORT_LINES));
            text += &format!("===== {label}: stderr =====\n{}", err.tail(REPORT_LINES));
        }
        text
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "netns lab {:?} failed; output of its processes:\n{}",
                self.tag,
                self.report()
            );
        }
        for ns in self.namespaces.iter().rev() {
            if let Err(err) = run("ip", &["netns", "del", ns]) {
                eprintln!("netns lab {:?}: cleanup: {err}", self.tag);
            }
        }
    }
}

/// Lines of one output stream of a child, collected by a thread.
pub struct Stream {
    state: Mutex<(Vec<String>, bool)>,
    cond: Condvar,
    /// While set, the stream is not read: the child's pipe fills and its
    /// writes block (a slow consumer of its output).
    paused: std::sync::atomic::AtomicBool,
}

impl Stream {
    fn collect(source: impl Read + Send + 'static) -> Arc<Stream> {
        let stream = Arc::new(Stream {
            state: Mutex::new((Vec::new(), false)),
            cond: Condvar::new(),
            paused: std::sync::atomic::AtomicBool::new(false),
        });
        let writer = stream.clone();
        thread::spawn(move || {
            let mut reader = BufReader::new(source);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                while writer.paused.load(std::sync::atomic::Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(10));
                }
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf);
                        let line = line.trim_end_matches(['\n', '\r']).to_owned();
                        writer.state.lock().unwrap().0.push(line);
                        writer.cond.notify_all();
                    }
                }
            }
            writer.state.lock().unwrap().1 = true;
            writer.cond.notify_all();
        });
        stream
    }

    /// Stops (or resumes) reading: a slow consumer of the child's output.
    /// What is already buffered is still read.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, std::sync::atomic::Ordering::Relaxed);
    }

    /// True once the child closed the stream (usually: it ended).
    pub fn closed(&self) -> bool {
        self.state.lock().unwrap().1
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.state.lock().unwrap().0.clone()
    }

    /// The lines from the `from`-th on (0-based): a reader that keeps its
    /// place reads each line once, however long the output grows.
    pub fn lines_from(&self, from: usize) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state.0.get(from..).map_or_else(Vec::new, <[String]>::to_vec)
    }

    /// How many lines so far match.
    pub fn count(&self, pred: impl Fn(&str) -> bool) -> usize {
        self.state.lock().unwrap().0.iter().filter(|l| pred(l)).count()
    }

    /// The first line (ever) that matches, waiting up to `timeout`; `None`
    /// when the time is up or the stream ended without one.
    pub fn wait_for(&self, mut pred: impl FnMut(&str) -> bool, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut scanned = 0;
        let mut state = self.state.lock().unwrap();
        loop {
            if let Some(line) = state.0[scanned..].iter().find(|l| pred(l)) {
                return Some(line.clone());
            }
            scanned = state.0.len();
            let now = Instant::now();
            if state.1 || now >= deadline {
                return None;
            }
            state = self.cond.wait_timeout(state, deadline - now).unwrap().0;
        }
    }

    /// The last `n` lines, one per line.
    pub fn tail(&self, n: usize) -> String {
        let state = self.state.lock().unwrap();
        let skip = state.0.len().saturating_sub(n);
        let mut text = String::new();
        if skip > 0 {
            text += &format!("[... {skip} earlier lines]\n");
        }
        for line in &state.0[skip..] {
            text += line;
            text.push('\n');
        }
        text
    }
}

/// A child process in a namespace: killed (SIGKILL) and reaped on drop.
pub struct ChildGuard {
    label: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Arc<Stream>,
    stderr: Arc<Stream>,
    status: Option<ExitStatus>,
}

impl ChildGuard {
    fn start(label: String, mut command: Command) -> ChildGuard {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {label}: {e}"));
        let stdin = child.stdin.take();
        let stdout = Stream::collect(child.stdout.take().unwrap());
        let stderr = Stream::collect(child.stderr.take().unwrap());
        ChildGuard {
            label,
            child,
            stdin,
            stdout,
            stderr,
            status: None,
        }
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stdout(&self) -> &Stream {
        &self.stdout
    }

    pub fn stderr(&self) -> &Stream {
        &self.stderr
    }

    /// Writes one line to the child's stdin.
    pub fn send_line(&mut self, line: &str) {
        let result = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(format!("{line}\n").as_bytes())
                .and_then(|_| stdin.flush()),
            None => Err(std::io::Error::other("stdin is closed")),
        };
        if let Err(err) = result {
            panic!("{}: cannot send {line:?}: {err}\n{}", self.label, self.report());
        }
    }

    /// Takes the child's stdin, e.g. to stream a large input from another
    /// thread; dropping it is the EOF. `None` if it was taken or closed.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.stdin.take()
    }

    /// Sends a signal by name (`STOP`, `CONT`, `KILL`…) with kill(1); does
    /// not wait. Nothing happens if the child has ended.
    pub fn signal(&mut self, name: &str) {
        if self.try_status().is_none() {
            let _ = run("kill", &[&format!("-{name}"), &self.child.id().to_string()]);
        }
    }

    /// The first stdout line (ever) that matches, or a panic naming `what`
    /// with the child's output when none comes within `timeout`.
    pub fn wait_stdout(&mut self, what: &str, pred: impl FnMut(&str) -> bool, timeout: Duration) -> String {
        if let Some(line) = self.stdout.wait_for(pred, timeout) {
            return line;
        }
        let why = if self.stdout.closed() {
            // Reap it, so that the report shows how it ended.
            self.wait_exit(Duration::from_secs(1));
            "its stdout closed first"
        } else {
            "still running"
        };
        panic!(
            "{}: no stdout line {what} ({why}; waited at most {timeout:?})\n{}",
            self.label,
            self.report()
        )
    }

    /// The exit status if the child has ended.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits up to `timeout` for the child to end.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) -> ExitStatus {
        if let Some(status) = self.try_status() {
            return status;
        }
        let _ = self.child.kill();
        let status = self
            .child
            .wait()
            .unwrap_or_else(|e| panic!("{}: wait: {e}", self.label));
        self.status = Some(status);
        status
    }

    /// SIGTERM (via kill(1)); does not wait.
    pub fn terminate(&mut self) {
        if self.try_status().is_none() {
            let _ = run("kill", &["-TERM", &self.child.id().to_string()]);
        }
    }

    /// Label, status and the tails of stdout and stderr.
    pub fn report(&self) -> String {
        format!(
            "===== {} ({}): stdout =====\n{}===== {}: stderr =====\n{}",
            self.label,
            match self.status {
                Some(s) => s.to_string(),
                None => "running or not reaped".into(),
            },
            self.stdout.tail(REPORT_LINES),
            self.label,
            self.stderr.tail(REPORT_LINES)
        )
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stdin = None;
        if self.try_status().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A field of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`, …); `None`
/// when the process is gone. The pid of a child is the program's own:
/// `ip netns exec` and `setpriv` exec it rather than fork.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    line[field.len() + 1..].split_whitespace().next()?.parse().ok()
}

/// A minimal JSON value: enough for the `zre --json` events.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn parse(text: &str) -> Result<Json, String> {
        let mut p = JsonParser {
            s: text.as_bytes(),
            i: 0,
        };
        let value = p.value(0)?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing characters at {}", p.i));
        }
        Ok(value)
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.i))
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > 64 {
            return self.err("nested too deep");
        }
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut fields = Vec::new();
                if self.eat(b'}') {
                    return Ok(Json::Obj(fields));
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    if !self.eat(b':') {
                        return self.err("expected ':'");
                    }
                    fields.push((key, self.value(depth + 1)?));
                    if self.eat(b'}') {
                        return Ok(Json::Obj(fields));
                    }
                    if !self.eat(b',') {
                        return self.err("expected ',' or '}'");
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                if self.eat(b']') {
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b']') {
                        return Ok(Json::Arr(items));
                    }
                    if !self.eat(b',') {
                        return self.err("expected ',' or ']'");
                    }
                }
            }
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(_) => {
                for (word, value) in [
                    ("true", Json::Bool(true)),
                    ("false", Json::Bool(false)),
                    ("null", Json::Null),
                ] {
                    if self.s[self.i..].starts_with(word.as_bytes()) {
                        self.i += word.len();
                        return Ok(value);
                    }
                }
                let start = self.i;
                while self.i < self.s.len()
                    && matches!(self.s[self.i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
                match text.parse::<f64>() {
                    Ok(n) if !text.is_empty() => Ok(Json::Num(n)),
                    _ => {
                        self.i = start;
                        self.err("expected a value")
                    }
                }
            }
            None => self.err("unexpected end"),
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.s.get(self.i..self.i + 4).ok_or("short \\u escape")?;
        let text = std::str::from_utf8(digits).map_err(|e| e.to_string())?;
        let code = u32::from_str_radix(text, 16).map_err(|_| format!("bad \\u escape at {}", self.i))?;
        self.i += 4;
        Ok(code)
    }

    fn string(&mut self) -> Result<String, String> {
        if self.s.get(self.i) != Some(&b'"') {
            return self.err("expected a string");
        }
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return self.err("unterminated string");
            };
            self.i += 1;
            match b {
                b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return self.err("unterminated escape");
                    };
                    self.i += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code =
                                if (0xD800..0xDC00).contains(&hi) && self.s[self.i..].starts_with(b"\\u") {
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    if !(0xDC00..0xE000).contains(&lo) {
                                        return self.err("bad surrogate pair");
                                    }
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    hi
                                };
                            char::from_u32(code).ok_or(format!("bad code point {code:#x}"))?
                        }
                        _ => return self.err("bad escape"),
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                b if b < 0x20 => return self.err("control character in string"),
                b => out.push(b),
            }
        }
    }
}

/// One line of `zre --json` output.
#[derive(Debug, Clone)]
pub struct Event {
    pub raw: String,
    pub json: Json,
}

impl Event {
    pub fn parse(raw: &str) -> Event {
        Event {
            raw: raw.to_owned(),
            json: Json::parse(raw).unwrap_or(Json::Null),
        }
    }

    /// A field that is a string.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.json.get(key).and_then(Json::as_str)
    }

    /// `ENTER`, `SHOUT`, …; `""` when the line is not a JSON event.
    pub fn kind(&self) -> &str {
        self.str("event").unwrap_or("")
    }

    pub fn is(&self, kind: &str) -> bool {
        self.kind() == kind
    }

    pub fn peer(&self) -> &str {
        self.str("peer").unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.str("name").unwrap_or("")
    }

    pub fn group(&self) -> &str {
        self.str("group").unwrap_or("")
    }

    /// Content frames: text as is, a non-UTF-8 frame as `hex:<digits>`.
    pub fn content(&self) -> Vec<String> {
        match self.json.get("content") {
            Some(Json::Arr(items)) => items
                .iter()
                .map(|item| match item {
                    Json::Str(s) => s.clone(),
                    other => format!("hex:{}", other.get("hex").and_then(Json::as_str).unwrap_or("?")),
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// A `zre --json` process on a host, READY already.
pub struct JsonPeer {
    child: ChildGuard,
    /// Our uuid, as READY says (32 upper-case hex digits).
    pub uuid: String,
    pub name: String,
    pub endpoint: String,
}

impl JsonPeer {
    /// Runs `zre --json -n NAME -i IFACE --beacon-port 5670 EXTRA…` on a host
    /// and waits for its READY.
    pub fn spawn(lab: &Lab, host: &str, iface: &str, name: &str, extra: &[&str]) -> JsonPeer {
        let log = std::env::var("RUST_LOG").unwrap_or_else(|_| "debug".into());
        JsonPeer::spawn_with_env(lab, host, iface, name, extra, &[("RUST_LOG", &log)])
    }

    /// [`JsonPeer::spawn`] with this environment (e.g. a quieter
    /// `RUST_LOG` for a node that will be flooded).
    pub fn spawn_with_env(
        lab: &Lab,
        host: &str,
        iface: &str,
        name: &str,
        extra: &[&str],
        envs: &[(&str, &str)],
    ) -> JsonPeer {
        let mut args = vec!["--json", "-n", name, "-i", iface, "--beacon-port", "5670"];
        args.extend_from_slice(extra);
        let label = format!("zre {name}@{host}");
        let child = lab.spawn_as(&label, host, ZRE, &args, envs);
        JsonPeer::adopt(child)
    }

    /// Every event so far (including READY).
    pub fn events(&self) -> Vec<Event> {
        self.child
            .stdout
            .lines()
            .iter()
            .map(|l| Event::parse(l))
            .collect()
    }

    /// The events from the `from`-th on (0-based, READY is the 0th).
    pub fn events_from(&self, from: usize) -> Vec<Event> {
        self.child
            .stdout
            .lines_from(from)
            .iter()
            .map(|l| Event::parse(l))
            .collect()
    }

    /// How many events so far match.
    pub fn count(&self, pred: impl Fn(&Event) -> bool) -> usize {
        self.child.stdout.count(|l| pred(&Event::parse(l)))
    }

    /// The first event (ever) that matches; panics naming `what`, with this
    /// peer's output, when none comes within `timeout`.
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&Event) -> bool, timeout: Duration) -> Event {
        let line = self.child.wait_stdout(what, |l| pred(&Event::parse(l)), timeout);
        Event::parse(&line)
    }

    /// Sends one command line (`/join g`, `/shout g hi`, …).
    pub fn send_line(&mut self, line: &str) {
        self.child.send_line(line);
    }

    /// Sends `/quit` and waits for the process to end.
    pub fn quit(&mut self, timeout: Duration) -> ExitStatus {
        self.send_line("/quit");
        match self.child.wait_exit(timeout) {
            Some(status) => status,
            None => panic!(
                "{}: still running {timeout:?} after /quit\n{}",
                self.child.label,
                self.child.report()
            ),
        }
    }

    pub fn child(&mut self) -> &mut ChildGuard {
        &mut self.child
    }

    pub fn report(&self) -> String {
        self.child.report()
    }
}

impl JsonPeer {
    /// Wraps a child that speaks the `zre --json` contract (READY first,
    /// then events; commands on stdin), e.g. a driver for another ZRE
    /// implementation, and waits for its READY.
    pub fn adopt(mut child: ChildGuard) -> JsonPeer {
        let ready = Event::parse(&child.wait_stdout(
            "with \"event\":\"READY\"",
            |l| Event::parse(l).is("READY"),
            WAIT,
        ));
        let uuid = ready.peer().to_owned();
        assert!(
            uuid.len() == 32
                && uuid
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
            "{}: READY has no 32-hex-digit peer: {ready}",
            child.label
        );
        JsonPeer {
            uuid,
            name: ready.name().to_owned(),
            endpoint: ready.str("endpoint").unwrap_or("").to_owned(),
            child,
        }
    }
}

/// Where `ip netns exec` finds a namespace's own copies of /etc files.
const ETC_NETNS: &str = "/etc/netns";

/// A namespace's private /etc file (`/etc/netns/<ns>/<file>`, which `ip
/// netns exec` bind-mounts over `/etc/<file>` for the processes it starts
/// afterwards); the directory is removed on drop.
pub struct EtcNetnsFile {
    dir: std::path::PathBuf,
}

impl Lab {
    /// Gives `host` its own `/etc/<file>` (e.g. `hosts`) with `content`, for
    /// the processes started on it from now on. Keep the guard as long as
    /// the lab. Leftovers of killed runs are removed first.
    pub fn etc_file(&self, host: &str, file: &str, content: &str) -> EtcNetnsFile {
        assert!(
            !file.is_empty() && !file.contains('/') && file != "." && file != "..",
            "etc_file: {file:?} must be a plain file name"
        );
        if let Ok(entries) = std::fs::read_dir(ETC_NETNS) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let owner = name
                    .strip_prefix(PREFIX)
                    .and_then(|r| r.strip_prefix('-'))
                    .and_then(|r| r.split('-').next())
                    .and_then(|pid| pid.parse::<u32>().ok());
                if owner.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = Path::new(ETC_NETNS).join(self.ns(host));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let guard = EtcNetnsFile { dir };
        let path = guard.dir.join(file);
        std::fs::write(&path, content).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        guard
    }
}

impl Drop for EtcNetnsFile {
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("cannot remove {}: {err}", self.dir.display());
        }
    }
}

/// CPU time (user + system) of a process, in clock ticks (1/100 s).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces), from
    // field 3 on: utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0)
}
