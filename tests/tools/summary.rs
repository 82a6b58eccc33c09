//! `scripts/test-summary`, the live-family summary at the end of
//! `scripts/test`, fed made-up cargo output and interop logs: it counts a
//! failure by the test's name with or without the module path of the one
//! netns binary (`test zyre_c::zyre_c_liveness ... FAILED`), never a test
//! whose name merely ends the same way, and under `CI=true` fails for a
//! family that did not run.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

const SUMMARY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/test-summary");

/// The summary's output and whether it exited 0, for this cargo output and
/// interop log (lines of TAB-separated fields), with `CI` set to `ci`.
fn summary(tag: &str, cargo_out: &str, interop: &[&[&str]], ci: &str) -> (String, bool) {
    let dir = std::env::temp_dir().join(format!("zre-summary-{}-{tag}", std::process::id()));
    fs::create_dir_all(&dir).expect("create temp dir");
    let out = dir.join("out");
    let log = dir.join("interop");
    fs::write(&out, cargo_out).expect("write cargo output");
    let log_text: String = interop.iter().map(|fields| fields.join("\t") + "\n").collect();
    fs::write(&log, log_text).expect("write interop log");
    let result = Command::new("bash")
        .arg(SUMMARY)
        .args([&out, &log].map(PathBuf::as_path))
        .env("CI", ci)
        .output()
        .expect("run scripts/test-summary");
    let _ = fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&result.stdout).into_owned();
    assert!(
        result.stderr.is_empty(),
        "scripts/test-summary wrote to stderr:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    (text, result.status.success())
}

/// The summary line of one family, its words one space apart.
fn line(text: &str, family: &str) -> String {
    let words = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(family))
        .map(words)
        .unwrap_or_else(|| panic!("no line for {family}:\n{text}"))
}

/// Every family ran; the failures count whether cargo names a test with
/// its module path (the merged binary) or bare.
const ALL_RAN: &[&[&str]] = &[
    &["ran", "zyre_c", "zyre_c_liveness"],
    &["ran", "zyre_c", "zyre_c_talks_both_ways"],
    &["ran", "zyre_c", "zyre_c_fast_beacons"],
    &["ran", "haskell", "haskell_zre_shell_talks_both_ways"],
    &["ran", "czmq", "czmq_gossip_server_chained_to_ours_both_ways"],
    &["ran", "pyre", "pyre_liveness"],
    &["ran", "zyrejs", "zyrejs_liveness"],
    // A test logs each run; the summary counts it once.
    &["ran", "zyrejs", "zyrejs_liveness"],
];

const CARGO_OUT: &str = "\
running 9 tests
test zyre_c::zyre_c_liveness ... FAILED
test zyre_c::zyre_c_talks_both_ways ... ok
test zyre_c_fast_beacons ... FAILED
test haskell::haskell_zre_shell_talks_both_ways ... ok
test czmq::czmq_gossip_server_chained_to_ours_both_ways ... FAILED
test interop::pyre_liveness ... ok
test interop::not_pyre_liveness ... FAILED
test interop::zyrejs_liveness ... ok
test interop::zyrejs_liveness_again ... FAILED

failures:
    zyre_c::zyre_c_liveness
    czmq::czmq_gossip_server_chained_to_ours_both_ways

test result: FAILED. 4 passed; 5 failed; 0 ignored; 0 measured; 0 filtered out
";

#[test]
fn summary_counts_failures_with_and_without_a_module_path() {
    let (text, ok) = summary("count", CARGO_OUT, ALL_RAN, "true");
    assert!(ok, "every family ran, so CI passes the summary:\n{text}");
    assert_eq!(line(&text, "zyre_c"), "zyre_c ran 3 tests, 2 failed", "{text}");
    assert_eq!(line(&text, "haskell"), "haskell ran 1 tests, 0 failed", "{text}");
    assert_eq!(line(&text, "czmq"), "czmq ran 1 tests, 1 failed", "{text}");
    // `not_pyre_liveness` and `zyrejs_liveness_again` failed, but they are
    // other tests.
    assert_eq!(line(&text, "pyre"), "pyre ran 1 tests, 0 failed", "{text}");
    assert_eq!(line(&text, "zyrejs"), "zyrejs ran 1 tests, 0 failed", "{text}");
}

#[test]
fn summary_says_why_a_family_did_not_run_and_ci_fails_it() {
    let log: &[&[&str]] = &[
        &["ran", "zyre_c", "zyre_c_liveness"],
        &[
            "missing",
            "haskell",
            "haskell_zre_shell_talks_both_ways",
            "install haskell-zre",
        ],
        &["ran", "czmq", "czmq_gossip_server_with_our_nodes"],
        &["ran", "pyre", "pyre_liveness"],
    ];
    let out = "test zyre_c::zyre_c_liveness ... ok\n";
    let (text, ok) = summary("missing", out, log, "true");
    assert!(!ok, "CI=true with a family not run must fail:\n{text}");
    assert!(
        text.contains("CI=true: a live family that did not run is a failure"),
        "{text}"
    );
    assert_eq!(
        line(&text, "haskell"),
        "haskell NOT RUN (1 of 1 tests skipped or failed for a missing reference): install haskell-zre",
        "{text}"
    );
    assert_eq!(
        line(&text, "zyrejs"),
        "zyrejs no tests ran (none in this build, or filtered out)",
        "{text}"
    );
    assert_eq!(line(&text, "zyre_c"), "zyre_c ran 1 tests, 0 failed", "{text}");

    // Outside CI the same is a report, not a failure.
    let (text, ok) = summary("missing-local", out, log, "");
    assert!(ok, "outside CI a family not run is not a failure:\n{text}");
    assert!(!text.contains("CI=true"), "{text}");
}

#[test]
fn summary_says_when_there_were_no_namespaces() {
    let mut log: Vec<&[&str]> = ALL_RAN.to_vec();
    log.push(&["netns", "-", "zyrec", "not root"]);
    let (text, ok) = summary("netns", "", &log, "false");
    assert!(ok, "{text}");
    for family in ["zyre_c", "haskell", "czmq", "pyre", "zyrejs"] {
        assert_eq!(
            line(&text, family),
            format!("{family} SKIPPED: no network namespaces (not root)"),
            "{text}"
        );
    }
    let (_, ok) = summary("netns-ci", "", &log, "1");
    assert!(!ok, "CI=1 without namespaces must fail");
}

/// The Python tests (python/tests, `pytest -rA`) log to the same interop
/// log; pytest names a failure `FAILED FILE::NAME - why`.
#[test]
fn summary_counts_a_failed_python_test_by_pytest_s_line() {
    let log: &[&[&str]] = &[
        &["ran", "pyre", "pyre_lan_ours_and_pyre_talk_both_ways"],
        &["ran", "pyre", "pyre_liveness"],
        &["ran", "zyre_c", "zyre_c_curve_and_election_with_python"],
    ];
    let out = "\
test interop::pyre_liveness ... ok
PASSED python/tests/test_zyre_c.py::zyre_c_curve_and_election_with_python
FAILED python/tests/test_live.py::pyre_lan_ours_and_pyre_talk_both_ways - AssertionError: no ENTER
FAILED python/tests/test_live.py::not_pyre_liveness - AssertionError
";
    let (text, _) = summary("pytest", out, log, "");
    assert_eq!(line(&text, "pyre"), "pyre ran 2 tests, 1 failed", "{text}");
    assert_eq!(line(&text, "zyre_c"), "zyre_c ran 1 tests, 0 failed", "{text}");
}
