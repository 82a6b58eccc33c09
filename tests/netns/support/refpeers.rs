//! Where the live reference peers are, and what a test does when one is
//! missing.
//!
//! Zyre 2.0.1 and haskell-zre 0.1.5.2 are built from the pristine sources in
//! `../shared/refpeers` (`$ZRE_REFPEERS_DIR`) into a cache
//! (`$ZRE_REFPEERS_CACHE`, default `~/.cache/zre-refpeers`):
//! `scripts/setup-refpeers` does that (`scripts/test` and `.ci/run` run it)
//! and keeps a build that is already there. pyre and zyre.js come from
//! their registries.
//!
//! A test that needs a missing reference fails with a one-line hint to
//! install it, unless `ZRE_SKIP_INTEROP=1` is set: then it says `SKIPPED`
//! and returns without asserting anything. It never passes silently.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A live reference implementation, by test-name prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Zyre 2.0.1, the C reference (`zyre_c_`).
    ZyreC,
    /// haskell-zre 0.1.5.2 (`haskell_`).
    Haskell,
    /// czmq's ZGossip server class, from Debian's libczmq-dev (`czmq_`).
    Czmq,
    /// pyre 0.3.4 (`pyre_`).
    Pyre,
    /// zyre.js 1.3.0 (`zyrejs_`).
    ZyreJs,
}

impl Family {
    /// The family's test-name prefix without its `_`, as `scripts/test`
    /// reports it: `zyre_c`, `haskell`, `czmq`, `pyre`, `zyrejs`.
    pub fn prefix(self) -> &'static str {
        match self {
            Family::ZyreC => "zyre_c",
            Family::Haskell => "haskell",
            Family::Czmq => "czmq",
            Family::Pyre => "pyre",
            Family::ZyreJs => "zyrejs",
        }
    }
}

/// Appends `line` to the file `$ZRE_INTEROP_LOG` names, if any:
/// `scripts/test` reads it to say which live families ran and which were
/// skipped and why (a passing test's stderr is not shown).
pub fn log_interop(line: &str) {
    use std::io::Write;
    let Some(path) = std::env::var_os("ZRE_INTEROP_LOG") else {
        return;
    };
    let file = std::fs::OpenOptions::new().create(true).append(true).open(&path);
    if let Err(err) = file.and_then(|mut f| writeln!(f, "{line}")) {
        eprintln!(
            "cannot append to ZRE_INTEROP_LOG {}: {err}",
            Path::new(&path).display()
        );
    }
}

/// The checkout's root.
pub fn repo_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The reference sources and build scripts: `$ZRE_REFPEERS_DIR`, else
/// `../shared/refpeers` beside the checkout.
pub fn sources_dir() -> PathBuf {
    match std::env::var_os("ZRE_REFPEERS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => repo_dir().join("../shared/refpeers"),
    }
}

/// The build cache: `$ZRE_REFPEERS_CACHE`, else `~/.cache/zre-refpeers`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ZRE_REFPEERS_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache/zre-refpeers")
}

/// Zyre's install prefix: `lib/libzyre.so`, `include/zyre.h`, `bin/perf_local` …
pub fn zyre_prefix() -> PathBuf {
    cache_dir().join("zyre")
}

/// haskell-zre's install prefix: `bin/{zre,zrecat,zretime,zreworker,zgossip-server}`.
pub fn haskell_prefix() -> PathBuf {
    cache_dir().join("haskell-zre")
}

fn succeeds(cmd: &str, args: &[&str], dir: Option<&Path>) -> bool {
    let mut command = Command::new(cmd);
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command.output().is_ok_and(|o| o.status.success())
}

/// What is missing for `family`, as a one-line install hint; `None` when it
/// can run here.
pub fn missing(family: Family) -> Option<String> {
    let cache = cache_dir();
    match family {
        Family::ZyreC => (!zyre_prefix().join("lib/libzyre.so").exists()).then(|| {
            format!(
                "Zyre 2.0.1 is not built in {}: run `scripts/setup-refpeers` or `{}/build-zyre.sh {}`",
                zyre_prefix().display(),
                sources_dir().display(),
                cache.join("zyre").display()
            )
        }),
        Family::Haskell => (!haskell_prefix().join("bin/zrecat").exists()).then(|| {
            format!(
                "haskell-zre 0.1.5.2 is not built in {}: run `scripts/setup-refpeers` or `{}/build-haskell-zre.sh {}`",
                haskell_prefix().display(),
                sources_dir().display(),
                cache.join("haskell-zre").display()
            )
        }),
        Family::Czmq => (!Path::new("/usr/include/czmq.h").exists())
            .then(|| "czmq is not installed: apt-get install libczmq-dev".to_string()),
        Family::Pyre => (!succeeds("python3", &["-c", "import pyre, zmq"], None))
            .then(|| "pyre is not installed: pip install zeromq-pyre==0.3.4 pyzmq==27.3.0".to_string()),
        Family::ZyreJs => {
            let js = repo_dir().join("tests/interop/js");
            (!succeeds("node", &["-e", "require('zyre.js')"], Some(&js))).then(|| {
                "zyre.js is not installed: cd tests/interop/js && npm_config_zmq_external=true npm ci"
                    .to_string()
            })
        }
    }
}

/// Whether `ZRE_SKIP_INTEROP=1` allows skipping a test whose reference is missing.
pub fn skip_allowed() -> bool {
    std::env::var("ZRE_SKIP_INTEROP").is_ok_and(|v| v == "1")
}

/// `true` when every one of `families` can run. When one is missing: panics
/// with the install hint, or with `ZRE_SKIP_INTEROP=1` prints
/// `SKIPPED test: …` and returns `false` (the caller returns at once).
/// It logs `ran<TAB>family<TAB>test` for each of `families` when all are
/// present, else `missing<TAB>family<TAB>test<TAB>hints` for each (see
/// [`log_interop`]).
pub fn require(test: &str, families: &[Family]) -> bool {
    let missing: Vec<(Family, String)> = families
        .iter()
        .filter_map(|f| missing(*f).map(|why| (*f, why)))
        .collect();
    if missing.is_empty() {
        for family in families {
            log_interop(&format!("ran\t{}\t{test}", family.prefix()));
        }
        return true;
    }
    let why = missing
        .iter()
        .map(|(_, why)| why.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    // Every family of the test did not run, the present ones too.
    for family in families {
        log_interop(&format!("missing\t{}\t{test}\t{why}", family.prefix()));
    }
    if skip_allowed() {
        eprintln!("SKIPPED {test}: {why} (ZRE_SKIP_INTEROP=1)");
        return false;
    }
    panic!("{test}: {why} (set ZRE_SKIP_INTEROP=1 to skip)");
}
