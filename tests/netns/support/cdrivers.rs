//! The C programs that drive the live references: `tests/interop/zyre_peer.c`
//! (a Zyre 2.0.1 peer speaking the `zre --json` contract) and
//! `tests/interop/czmq_gossip.c` (czmq's ZGossip server). Each is compiled
//! with `cc` once per test binary, into `CARGO_TARGET_TMPDIR`; a compiler
//! error fails the test with the command and its output.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use super::refpeers;

const ZYRE_PEER_SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/zyre_peer.c");
const CZMQ_GOSSIP_SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/czmq_gossip.c");

/// Compiles `src` into `CARGO_TARGET_TMPDIR/name` with these flags: the
/// path of the program, or the reason it could not be built. The program is
/// written under a name of this process and renamed into place, so test
/// binaries that build it at the same time do not clash.
fn compile(name: &str, src: &str, flags: &[String]) -> Result<PathBuf, String> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("refdrivers");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let out = dir.join(name);
    let tmp = dir.join(format!("{name}.{}", std::process::id()));
    let mut args: Vec<String> = vec![
        "-std=gnu11".into(),
        "-O2".into(),
        "-Wall".into(),
        "-o".into(),
        tmp.display().to_string(),
        src.into(),
    ];
    args.extend_from_slice(flags);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let output = Command::new(&cc)
        .args(&args)
        .output()
        .map_err(|e| format!("cannot run `{cc}` to build {name}: {e} (apt-get install gcc)"))?;
    if !output.status.success() {
        return Err(format!(
            "`{cc} {}` failed ({}):\n{}{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        ));
    }
    std::fs::rename(&tmp, &out).map_err(|e| format!("cannot move {} into place: {e}", tmp.display()))?;
    Ok(out)
}

fn built(
    cell: &'static OnceLock<Result<PathBuf, String>>,
    build: fn() -> Result<PathBuf, String>,
) -> PathBuf {
    match cell.get_or_init(build) {
        Ok(path) => path.clone(),
        Err(why) => panic!("{why}"),
    }
}

/// The Zyre driver, built against `refpeers::zyre_prefix()` (drafts on,
/// with an rpath to its `lib`). Call after `refpeers::require(…, ZyreC)`.
pub fn zyre_peer() -> PathBuf {
    static CELL: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    built(&CELL, || {
        let prefix = refpeers::zyre_prefix();
        let lib = prefix.join("lib").display().to_string();
        let flags = vec![
            "-DZYRE_BUILD_DRAFT_API".to_string(),
            format!("-I{}", prefix.join("include").display()),
            format!("-L{lib}"),
            format!("-Wl,-rpath,{lib}"),
            "-lzyre".into(),
            "-lczmq".into(),
            "-lzmq".into(),
            "-lpthread".into(),
        ];
        compile("zyre_peer", ZYRE_PEER_SRC, &flags)
    })
}

/// czmq's ZGossip server program. Call after `refpeers::require(…, Czmq)`.
pub fn czmq_gossip() -> PathBuf {
    static CELL: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    built(&CELL, || {
        compile("czmq_gossip", CZMQ_GOSSIP_SRC, &["-lczmq".into(), "-lzmq".into()])
    })
}
