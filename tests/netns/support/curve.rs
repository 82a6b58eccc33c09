//! Helpers for the CURVE tests (issue 19): certificates in czmq's zcert
//! format (a public file and its `_secret` twin), allow-list directories,
//! a scratch directory for them, and packet captures (tcpdump inside a
//! lab namespace) to look for plaintext on the wire.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::netns::{ChildGuard, Lab, WAIT, ZRE};

/// A directory under `CARGO_TARGET_TMPDIR` for one test's certificates and
/// captures, named after the test and this process; removed on drop (also
/// when the test fails).
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let dir =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("curve-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        Scratch { dir }
    }

    /// `name` inside the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A new empty subdirectory `name`.
    pub fn subdir(&self, name: &str) -> PathBuf {
        let dir = self.path(name);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A CURVE certificate on disk, in czmq's zcert format.
#[derive(Debug, Clone)]
pub struct Cert {
    /// The public certificate (`public-key` only): what goes in an
    /// allow-list directory.
    pub public: PathBuf,
    /// `<public>_secret`: both keys; what `--curve-cert` takes.
    pub secret: PathBuf,
    /// The public key, Z85 (40 characters).
    pub key: String,
}

impl Cert {
    /// The certificate whose public file is `public` (and secret file
    /// `public_secret`), as czmq's `zcert_save` or `zre --curve-keygen`
    /// wrote it; panics if either file is missing or holds no key.
    pub fn at(public: &Path) -> Cert {
        let secret = PathBuf::from(format!("{}_secret", public.display()));
        let key = zcert_value(public, "public-key");
        assert_eq!(
            zcert_value(&secret, "public-key"),
            key,
            "{} and {} hold different public keys",
            public.display(),
            secret.display()
        );
        let secret_key = zcert_value(&secret, "secret-key");
        assert_eq!(
            secret_key.len(),
            40,
            "{}: secret-key is not 40 Z85 characters",
            secret.display()
        );
        assert!(
            !std::fs::read_to_string(public).unwrap().contains("secret-key"),
            "{}: the public certificate holds the secret key",
            public.display()
        );
        Cert {
            public: public.to_owned(),
            secret,
            key,
        }
    }
}

/// The value of `key = "…"` in a zcert file (czmq's ZPL: `curve` section,
/// indented `public-key = "…"` / `secret-key = "…"`).
pub fn zcert_value(path: &Path, key: &str) -> String {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(key))
        .filter_map(|rest| rest.trim_start().strip_prefix('='))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .next()
        .unwrap_or_else(|| panic!("{}: no {key} in\n{text}", path.display()))
}

/// `zre --curve-keygen PATH`: our tool writes PATH and PATH_secret (no
/// node is started, nothing touches the network); the certificate.
pub fn keygen_ours(public: &Path) -> Cert {
    let out = Command::new(ZRE)
        .arg("--curve-keygen")
        .arg(public)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {ZRE}: {e}"));
    assert!(
        out.status.success(),
        "`zre --curve-keygen {}` failed ({}):\n{}{}",
        public.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    Cert::at(public)
}

/// A directory `name` in `scratch` holding the public certificates of
/// `allowed` (what `--curve-allow DIR` reads).
pub fn allow_dir(scratch: &Scratch, name: &str, allowed: &[&Cert]) -> PathBuf {
    let dir = scratch.subdir(name);
    for (i, cert) in allowed.iter().enumerate() {
        let file = cert
            .public
            .file_name()
            .map_or_else(|| format!("cert{i}"), |f| f.to_string_lossy().into_owned());
        let to = dir.join(format!("{i}-{file}"));
        std::fs::copy(&cert.public, &to)
            .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", cert.public.display(), to.display()));
    }
    dir
}

/// The path as a `&str` (our paths are UTF-8).
pub fn s(path: &Path) -> &str {
    path.to_str().expect("path is UTF-8")
}

// ---- captures --------------------------------------------------------------

/// tcpdump writing every TCP packet on one interface of a lab host to a
/// pcap file; killed on drop.
pub struct Capture {
    child: ChildGuard,
    file: PathBuf,
}

impl Capture {
    /// Starts `tcpdump -i IFACE --immediate-mode -U -s 0 -w FILE tcp` on
    /// `host` (each packet written as it comes) and waits
    /// until it listens. A missing tcpdump fails the test with the install
    /// hint.
    pub fn start(lab: &Lab, host: &str, iface: &str, file: &Path) -> Capture {
        let have = Command::new("tcpdump")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(have, "tcpdump is missing: apt-get install tcpdump");
        // -Z root: tcpdump would otherwise drop to its own user, which may
        // not write into the build directory.
        let child = lab.spawn_as(
            &format!("tcpdump {iface}@{host}"),
            host,
            "tcpdump",
            &[
                "-i",
                iface,
                "-n",
                "--immediate-mode",
                "-U",
                "-s",
                "0",
                "-Z",
                "root",
                "-w",
                s(file),
                "tcp",
            ],
            &[],
        );
        let listening = child.stderr().wait_for(|l| l.contains("listening on"), WAIT);
        assert!(listening.is_some(), "tcpdump did not start\n{}", child.report());
        Capture {
            child,
            file: file.to_owned(),
        }
    }

    /// Stops tcpdump (SIGTERM: it flushes and closes the file) and returns
    /// the capture.
    pub fn stop(mut self) -> Pcap {
        // Lets tcpdump write what the kernel handed it last.
        std::thread::sleep(Duration::from_millis(300));
        self.child.terminate();
        let status = self.child.wait_exit(Duration::from_secs(10));
        assert!(status.is_some(), "tcpdump did not stop\n{}", self.child.report());
        let bytes =
            std::fs::read(&self.file).unwrap_or_else(|e| panic!("cannot read {}: {e}", self.file.display()));
        Pcap::parse(&bytes)
            .unwrap_or_else(|why| panic!("{}: {why}\n{}", self.file.display(), self.child.report()))
    }
}

/// A pcap capture (Ethernet link type), reduced to the TCP payloads.
pub struct Pcap {
    /// The whole file: searching it finds what any header or payload held.
    pub raw: Vec<u8>,
    /// Packets seen.
    pub packets: usize,
    /// The payload of each TCP segment that had one, in capture order.
    pub tcp_payloads: Vec<Vec<u8>>,
}

impl Pcap {
    /// Parses a classic pcap file (either byte order, microsecond or
    /// nanosecond), link type Ethernet, IPv4 or IPv6 inside.
    pub fn parse(bytes: &[u8]) -> Result<Pcap, String> {
        if bytes.len() < 24 {
            return Err(format!("{} bytes: no pcap header", bytes.len()));
        }
        let magic = u32::from_le_bytes(bytes[0..4].try_into().unwrap());
        let le = match magic {
            0xa1b2_c3d4 | 0xa1b2_3c4d => true,
            0xd4c3_b2a1 | 0x4d3c_b2a1 => false,
            _ => return Err(format!("not a pcap file (magic {magic:#x})")),
        };
        let u32_at = |at: usize| -> u32 {
            let b: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
            if le {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            }
        };
        let link = u32_at(20);
        if link != 1 {
            return Err(format!("link type {link}, expected 1 (Ethernet)"));
        }
        let mut pcap = Pcap {
            raw: bytes.to_vec(),
            packets: 0,
            tcp_payloads: Vec::new(),
        };
        let mut at = 24;
        while at + 16 <= bytes.len() {
            let caplen = u32_at(at + 8) as usize;
            let start = at + 16;
            let end = start + caplen;
            if end > bytes.len() {
                break; // a packet cut short by the stop
            }
            pcap.packets += 1;
            if let Some(payload) = tcp_payload(&bytes[start..end]) {
                if !payload.is_empty() {
                    pcap.tcp_payloads.push(payload.to_vec());
                }
            }
            at = end;
        }
        Ok(pcap)
    }

    /// Bytes of TCP payload in all.
    pub fn tcp_payload_bytes(&self) -> usize {
        self.tcp_payloads.iter().map(Vec::len).sum()
    }

    /// Whether `needle` occurs anywhere in the file (a marker split across
    /// two segments would not: callers send markers much shorter than a
    /// segment, and also search the joined payloads, see
    /// [`Pcap::payloads_contain`]).
    pub fn contains(&self, needle: &[u8]) -> bool {
        find(&self.raw, needle)
    }

    /// Whether `needle` occurs in the TCP payloads joined in capture order.
    pub fn payloads_contain(&self, needle: &[u8]) -> bool {
        find(&self.tcp_payloads.concat(), needle)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The TCP payload of an Ethernet frame, if it holds IPv4 or IPv6 TCP.
fn tcp_payload(frame: &[u8]) -> Option<&[u8]> {
    let ethertype = u16::from_be_bytes(frame.get(12..14)?.try_into().ok()?);
    let ip = frame.get(14..)?;
    let (proto, l4) = match ethertype {
        0x0800 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes(ip.get(2..4)?.try_into().ok()?));
            (*ip.get(9)?, ip.get(ihl..total.min(ip.len()))?)
        }
        0x86dd => {
            let len = usize::from(u16::from_be_bytes(ip.get(4..6)?.try_into().ok()?));
            (*ip.get(6)?, ip.get(40..(40 + len).min(ip.len()))?)
        }
        _ => return None,
    };
    if proto != 6 {
        return None;
    }
    let offset = usize::from(l4.get(12)? >> 4) * 4;
    l4.get(offset..)
}
