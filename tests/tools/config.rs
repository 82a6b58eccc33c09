//! The configuration file: format, precedence, file lookup, errors, and the
//! shipped example `zre.conf`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use zre::config::{
    ConfigError, ErrorKind, NODE_KEYS, Origin, PortRange, Settings, Sources, parse_bool, parse_duration,
    parse_header, parse_host_port, parse_multicast_group,
};

// The tools' sections and keys, as the `zre` binary has them.
use crate::schema::TOOLS;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("zre-config-test-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const PATH: &str = "test.conf";

fn parse(text: &str, applet: &str) -> Result<Settings, ConfigError> {
    Settings::parse(&TOOLS, text, Path::new(PATH), applet)
}

fn ok(text: &str, applet: &str) -> Settings {
    match parse(text, applet) {
        Ok(settings) => settings,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn at(line: usize) -> Origin {
    Origin::File {
        path: PathBuf::from(PATH),
        line,
    }
}

/// Parses `text` (for every applet: errors do not depend on it), expects an
/// error of `kind` at `line` about `key`, and checks the one-line message.
fn expect_error(text: &str, kind: ErrorKind, line: usize, key: Option<&str>, needle: &str) -> String {
    let mut first = None;
    for applet in TOOLS.applet_names() {
        let e = parse(text, applet).expect_err("expected an error");
        assert_eq!(e.kind(), kind, "{e}");
        assert_eq!(e.path(), Some(Path::new(PATH)), "{e}");
        assert_eq!(e.line(), Some(line), "{e}");
        assert_eq!(e.key(), key, "{e}");
        let shown = e.to_string();
        let prefix = match key {
            Some(key) => format!("{PATH}:{line}: key '{key}': "),
            None => format!("{PATH}:{line}: "),
        };
        assert!(
            shown.starts_with(&prefix),
            "{shown:?} should start with {prefix:?}"
        );
        assert!(shown.contains(needle), "{shown:?} should contain {needle:?}");
        assert!(!shown.contains('\n'), "{shown:?} should be one line");
        first.get_or_insert(shown);
    }
    first.unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Precedence

const LAYERED: &str = "\
[zre]
name = common
evasive = 3
expired = 20
gossip = a:1

[zrecat]
name = cat
evasive = 4
";

#[test]
fn applet_section_overrides_zre_section() {
    let cat = ok(LAYERED, "zrecat");
    assert_eq!(cat.get("name"), Some("cat"));
    assert_eq!(cat.origin("name"), Some(&at(8)));
    assert_eq!(cat.duration("evasive"), Some(Duration::from_secs(4)));
    assert_eq!(cat.origin("evasive"), Some(&at(9)));
    assert_eq!(cat.duration("expired"), Some(Duration::from_secs(20)));
    assert_eq!(cat.origin("expired"), Some(&at(4)));
    assert_eq!(cat.get_all("gossip"), ["a:1"]);

    let time = ok(LAYERED, "zretime");
    assert_eq!(time.get("name"), Some("common"));
    assert_eq!(time.duration("evasive"), Some(Duration::from_secs(3)));
    assert_eq!(time.origin("evasive"), Some(&at(3)));
}

#[test]
fn zrename_overrides_both_sections_and_flags_override_everything() {
    let dir = TempDir::new("precedence");
    let file = dir.write("custom.conf", LAYERED);
    let sources = Sources {
        zrecfg: Some(file.clone()),
        zrename: Some("env".into()),
        ..Sources::default()
    };

    for applet in ["zre", "zrecat", "zretime"] {
        let settings = Settings::load_with(&TOOLS, applet, &sources).expect("load");
        assert_eq!(settings.source_file(), Some(file.as_path()));
        assert_eq!(settings.get("name"), Some("env"), "{applet}");
        assert_eq!(settings.origin("name"), Some(&Origin::Env("ZRENAME")));
        assert_eq!(
            settings.origin("name").map(ToString::to_string).as_deref(),
            Some("ZRENAME")
        );
    }
    let mut cat = Settings::load_with(&TOOLS, "zrecat", &sources).expect("load");
    assert_eq!(cat.get("evasive"), Some("4"));
    assert_eq!(
        cat.origin("evasive"),
        Some(&Origin::File {
            path: file.clone(),
            line: 9
        })
    );

    cat.set("name", "flag", Origin::CommandLine).expect("set name");
    cat.set("quiet-period", "250ms", Origin::CommandLine)
        .expect("set evasive");
    assert_eq!(cat.get("name"), Some("flag"));
    assert_eq!(cat.origin("name"), Some(&Origin::CommandLine));
    assert_eq!(cat.duration("evasive"), Some(Duration::from_millis(250)));
    // Other keys keep their file values.
    assert_eq!(cat.duration("expired"), Some(Duration::from_secs(20)));

    // Without ZRENAME, the file wins; an empty ZRENAME counts as unset.
    for zrename in [None, Some(String::new())] {
        let sources = Sources {
            zrecfg: Some(file.clone()),
            zrename,
            ..Sources::default()
        };
        let cat = Settings::load_with(&TOOLS, "zrecat", &sources).expect("load");
        assert_eq!(cat.get("name"), Some("cat"));
    }
}

#[test]
fn zrename_is_validated_and_named_in_the_error() {
    let sources = Sources {
        zrename: Some("x".repeat(300)),
        ..Sources::default()
    };
    let e = Settings::load_with(&TOOLS, "zre", &sources).expect_err("too long a name");
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
    assert_eq!(e.origin(), Some(&Origin::Env("ZRENAME")));
    assert!(e.to_string().starts_with("ZRENAME: key 'name': "), "{e}");
}

#[test]
fn applet_keys_in_zre_section_apply_to_their_applet_only() {
    let text = "[zre]\nraw = yes\nwait = 2s\ngroup = clocks\nbind = tcp://*:5\nname = n\n";
    let cat = ok(text, "zrecat");
    assert_eq!(cat.bool("raw"), Some(true));
    assert_eq!(cat.duration("wait"), Some(Duration::from_secs(2)));
    assert_eq!(cat.get("group"), None);
    assert_eq!(cat.get("bind"), None);

    let time = ok(text, "zretime");
    assert_eq!(time.get("group"), Some("clocks"));
    assert_eq!(time.get("raw"), None);

    let server = ok(text, "zgossip_server");
    assert_eq!(server.get_all("bind"), ["tcp://*:5"]);

    for applet in ["zre", "zreworker"] {
        let settings = ok(text, applet);
        assert_eq!(settings.keys().collect::<Vec<_>>(), ["name"], "{applet}");
    }
}

#[test]
fn every_section_is_checked_whatever_the_applet() {
    // A bad value in [zretime] fails the load of zrecat too.
    let text = "[zre]\n[zretime]\ninterval = soon\n";
    expect_error(
        text,
        ErrorKind::InvalidValue,
        3,
        Some("interval"),
        "invalid duration \"soon\"",
    );
}

#[test]
fn repeated_sections_merge() {
    let text = "[zre]\nname = a\n[zrecat]\nwait = 1\n[zre]\nexpired = 9\n";
    let cat = ok(text, "zrecat");
    assert_eq!(cat.get("name"), Some("a"));
    assert_eq!(cat.get("expired"), Some("9"));
    assert_eq!(cat.get("wait"), Some("1"));
    // ... and a key set in both blocks of one section is a duplicate.
    let text = "[zre]\nname = a\n[zrecat]\n[zre]\nname = b\n";
    expect_error(text, ErrorKind::DuplicateKey, 5, Some("name"), "line 2");
}

// ---------------------------------------------------------------------------
// Aliases, repeatables, comments, empty values

#[test]
fn aliases_are_stored_under_the_canonical_name() {
    let text = "[zre]\nquiet-period = 7\ndead-period = 70\nbeacon-period = 0.5\n";
    let settings = ok(text, "zre");
    assert_eq!(
        settings.keys().collect::<Vec<_>>(),
        ["beacon-interval", "evasive", "expired"]
    );
    assert_eq!(settings.duration("evasive"), Some(Duration::from_secs(7)));
    assert_eq!(settings.duration("expired"), Some(Duration::from_secs(70)));
    assert_eq!(
        settings.duration("beacon-interval"),
        Some(Duration::from_millis(500))
    );
    // Getters accept the alias too.
    assert_eq!(settings.get("quiet-period"), Some("7"));
    assert_eq!(TOOLS.canonical_key("dead-period"), Some("expired"));
    assert_eq!(TOOLS.canonical_key("no-such-key"), None);

    // An alias in [zrecat] overrides the canonical key in [zre].
    let text = "[zre]\nevasive = 1\n[zrecat]\nquiet-period = 2\n";
    assert_eq!(ok(text, "zrecat").get("evasive"), Some("2"));

    // The alias and its canonical name in one section are a duplicate.
    let text = "[zre]\nevasive = 1\nquiet-period = 2\n";
    expect_error(
        text,
        ErrorKind::DuplicateKey,
        3,
        Some("quiet-period"),
        "'evasive' already set at line 2",
    );
}

#[test]
fn repeatable_keys_accumulate_and_applet_lists_replace() {
    let text = "\
[zre]
gossip = one:1
header = X-A=1
gossip = two:2
header = X-B = b=c
[zretime]
gossip = three:3
[zgossip_server]
bind = tcp://*:1
bind = ipc:///tmp/g
";
    let cat = ok(text, "zrecat");
    assert_eq!(cat.get_all("gossip"), ["one:1", "two:2"]);
    assert_eq!(cat.get("gossip"), Some("two:2"));
    assert_eq!(
        cat.get_all_with_origin("gossip"),
        [("one:1", &at(2)), ("two:2", &at(4))]
    );
    assert_eq!(cat.headers(), [("X-A", "1"), ("X-B", "b=c")]);

    let time = ok(text, "zretime");
    assert_eq!(time.get_all("gossip"), ["three:3"]);
    assert_eq!(time.get_all("header"), ["X-A=1", "X-B = b=c"]);

    let server = ok(text, "zgossip_server");
    assert_eq!(server.get_all("bind"), ["tcp://*:1", "ipc:///tmp/g"]);
    assert_eq!(server.get_all("gossip"), ["one:1", "two:2"]);

    let parsed: Vec<PortRange> = ok("[zre]\nport-range = 0\n", "zre")
        .parsed_all("port-range")
        .expect("ok");
    assert_eq!(parsed, [PortRange::Any]);
}

#[test]
fn comments_after_values_and_on_their_own_lines() {
    let text = "\
# leading comment
; another
[zre]   # the common section
  # indented comment
expired = 30  # seconds
evasive = 5\t; seconds
name = a#b;c
interface = eth0 #
gossip = host:1 # first ; still comment
";
    let settings = ok(text, "zre");
    assert_eq!(settings.get("expired"), Some("30"));
    assert_eq!(settings.get("evasive"), Some("5"));
    assert_eq!(settings.get("name"), Some("a#b;c"));
    assert_eq!(settings.get("interface"), Some("eth0"));
    assert_eq!(settings.get_all("gossip"), ["host:1"]);
}

#[test]
fn empty_values_mean_unset() {
    let text = "\
[zre]
interface =
name = common
gossip =
gossip = g:1
expired =   # no value
expired = 12
[zrecat]
name =
gossip =
";
    for applet in ["zre", "zrecat"] {
        let settings = ok(text, applet);
        assert_eq!(settings.get("interface"), None);
        assert!(!settings.is_set("interface"));
        // An empty value neither overrides [zre] nor counts as a first value.
        assert_eq!(settings.get("name"), Some("common"), "{applet}");
        assert_eq!(settings.get_all("gossip"), ["g:1"], "{applet}");
        assert_eq!(settings.get("expired"), Some("12"));
        assert_eq!(settings.origin("expired"), Some(&at(7)));
    }
    // Still checked: an empty value under an unknown key is an error.
    expect_error(
        "[zre]\nnope =\n",
        ErrorKind::UnknownKey,
        2,
        Some("nope"),
        "unknown key",
    );
}

#[test]
fn crlf_line_endings_and_byte_order_mark() {
    let text = "\u{feff}[zre]\r\nname = win\r\n\r\nexpired = 3 # s\r\n";
    let settings = ok(text, "zre");
    assert_eq!(settings.get("name"), Some("win"));
    assert_eq!(settings.get("expired"), Some("3"));
    assert_eq!(settings.origin("expired"), Some(&at(4)));
}

// ---------------------------------------------------------------------------
// Errors

#[test]
fn malformed_lines() {
    expect_error(
        "[zre]\nname\n",
        ErrorKind::Malformed,
        2,
        None,
        "malformed line \"name\"",
    );
    expect_error("[zre]\n\n= value\n", ErrorKind::Malformed, 3, None, "no key");
    expect_error(
        "[zre\nname = a\n",
        ErrorKind::Malformed,
        1,
        None,
        "section header",
    );
    expect_error(
        "[zre]\n[zrecat] name = x\n",
        ErrorKind::Malformed,
        2,
        None,
        "section header",
    );
    // A '#' glued to the header is not a comment.
    expect_error("[zre]#x\n", ErrorKind::Malformed, 1, None, "section header");
}

#[test]
fn key_before_any_section() {
    expect_error(
        "# hi\n\nname = a\n[zre]\n",
        ErrorKind::OutsideSection,
        3,
        Some("name"),
        "outside any section",
    );
}

#[test]
fn unknown_section() {
    let shown = expect_error(
        "[zre]\nname = a\n[zrecats]\n",
        ErrorKind::UnknownSection,
        3,
        None,
        "[zrecats]",
    );
    assert!(shown.contains("[zgossip_server]"), "{shown}");
    expect_error("[ZRE]\n", ErrorKind::UnknownSection, 1, None, "[ZRE]");
    expect_error("[]\n", ErrorKind::UnknownSection, 1, None, "unknown section");
}

#[test]
fn unknown_keys() {
    expect_error(
        "[zre]\nname = a\ncolour = red\n",
        ErrorKind::UnknownKey,
        3,
        Some("colour"),
        "unknown key",
    );
    expect_error(
        "[zrecat]\nName = a\n",
        ErrorKind::UnknownKey,
        2,
        Some("Name"),
        "unknown key",
    );
    expect_error(
        "[zgossip_server]\nbeacon_port = 1\n",
        ErrorKind::UnknownKey,
        2,
        Some("beacon_port"),
        "unknown",
    );
}

#[test]
fn applet_key_in_another_applets_section() {
    expect_error(
        "[zretime]\nraw = true\n",
        ErrorKind::WrongSection,
        2,
        Some("raw"),
        "[zrecat]",
    );
    expect_error(
        "[zrecat]\ngroup = g\n",
        ErrorKind::WrongSection,
        2,
        Some("group"),
        "[zretime]",
    );
    expect_error(
        "[zreworker]\nbind = tcp://*:1\n",
        ErrorKind::WrongSection,
        2,
        Some("bind"),
        "[zgossip_server]",
    );
    // Even with an empty value.
    expect_error(
        "[zre]\n[zre]\n[zrecat]\ntuple-ttl =\n",
        ErrorKind::WrongSection,
        4,
        Some("tuple-ttl"),
        "",
    );
}

#[test]
fn duplicate_keys() {
    expect_error(
        "[zre]\nname = a\nname = b\n",
        ErrorKind::DuplicateKey,
        3,
        Some("name"),
        "duplicate key",
    );
    expect_error(
        "[zrecat]\nwait = 1\n\nwait = 2\n",
        ErrorKind::DuplicateKey,
        4,
        Some("wait"),
        "line 2",
    );
    // The same key in [zre] and an applet section is an override, not a duplicate.
    assert_eq!(
        ok("[zre]\nwait = 1\n[zrecat]\nwait = 2\n", "zrecat").get("wait"),
        Some("2")
    );
}

#[test]
fn bad_values_name_file_line_and_key() {
    let cases: &[(&str, &str, &str)] = &[
        ("expired", "abc", "invalid duration \"abc\""),
        ("dead-period", "-1", "invalid duration \"-1\""),
        ("evasive", "0", "greater than 0"),
        ("beacon-interval", "0ms", "greater than 0"),
        ("json", "maybe", "invalid boolean \"maybe\""),
        ("beacon", "2", "invalid boolean"),
        ("beacon-port", "70000", "invalid port \"70000\""),
        ("beacon-port", "0", "invalid port"),
        ("max-peers", "0", "invalid count"),
        ("max-peers", "many", "invalid count"),
        ("max-peers", "+2", "invalid count \"+2\""),
        ("beacon-port", "+5670", "invalid port \"+5670\""),
        ("port-range", "41100-41000", "41100 is above 41000"),
        ("port-range", "41000", "invalid port range"),
        ("port-range", "0-10", "invalid port range"),
        ("gossip", "host", "no port"),
        ("gossip", "host:x", "bad port"),
        ("gossip", ":31337", "no host"),
        ("gossip", "::1:31337", "brackets"),
        ("multicast-group", "10.0.0.1:5670", "not a multicast address"),
        ("multicast-group", "239.0.0.1", "invalid multicast group"),
        ("header", "X-A", "expected KEY=VALUE"),
        ("header", "=v", "empty key"),
        ("endpoint", "1.2.3.4:5", "invalid endpoint"),
        ("wait", "10x", "invalid duration"),
        ("raw", "yess", "invalid boolean"),
        ("interval", "0", "greater than 0"),
        ("client-timeout", "never", "invalid duration"),
        ("tuple-ttl", "1e3", "invalid duration"),
        ("bind", "*:31337", "invalid endpoint"),
        (
            "bind",
            "udp://x",
            "transport udp:// is not supported (expected tcp://HOST:PORT",
        ),
        ("bind", "tcp://*:x", "invalid endpoint"),
        ("endpoint", "ipc:///tmp/x", "expected tcp://HOST:PORT"),
        ("connect", "nohost", "no port"),
        ("listen", "maybe", "invalid boolean"),
        ("quiet-ping-rate", "often", "invalid duration"),
        ("debug", "maybe", "invalid boolean"),
    ];
    for (key, value, needle) in cases {
        let text = format!("[zre]\nname = fine\n\n{key} = {value}   # comment\n");
        expect_error(&text, ErrorKind::InvalidValue, 4, Some(key), needle);
    }
    let long = format!("[zre]\nname = {}\n", "n".repeat(256));
    expect_error(&long, ErrorKind::InvalidValue, 2, Some("name"), "255 bytes");
    // The example from the brief, exactly.
    let shown = expect_error(
        "[zre]\nexpired = abc\n",
        ErrorKind::InvalidValue,
        2,
        Some("expired"),
        "",
    );
    assert!(
        shown.starts_with("test.conf:2: key 'expired': invalid duration \"abc\""),
        "{shown}"
    );
}

#[test]
fn unknown_applet_is_an_error() {
    for result in [
        parse("[zre]\n", "zrecats"),
        Settings::new(&TOOLS, "zrecats"),
        Settings::load_with(&TOOLS, "zrecats", &Sources::default()),
    ] {
        let e = result.expect_err("unknown applet");
        assert_eq!(e.kind(), ErrorKind::UnknownApplet);
        assert!(e.to_string().contains("zrecats"), "{e}");
    }
}

#[test]
fn parsed_values_and_their_errors() {
    let text = "[zre]\nbeacon-port = 5670\nport-range = 100-200\n";
    let settings = ok(text, "zre");
    assert_eq!(settings.parsed::<u16>("beacon-port"), Ok(Some(5670)));
    assert_eq!(settings.parsed::<u16>("max-peers"), Ok(None));
    assert_eq!(
        settings.parsed::<PortRange>("port-range"),
        Ok(Some(PortRange::Range { low: 100, high: 200 }))
    );
    let e = settings
        .parsed::<u8>("beacon-port")
        .expect_err("5670 is not a u8");
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
    assert_eq!(e.line(), Some(2));
    assert!(
        e.to_string()
            .starts_with("test.conf:2: key 'beacon-port': invalid value \"5670\""),
        "{e}"
    );
    // Typed getters on a key that is not of that type give None.
    assert_eq!(settings.bool("beacon-port"), None);
    assert_eq!(settings.duration("port-range"), None);
}

#[test]
fn set_checks_like_the_file() {
    let mut settings = Settings::new(&TOOLS, "zrecat").expect("new");
    assert_eq!(settings.source_file(), None);
    let e = settings
        .set("wait", "later", Origin::CommandLine)
        .expect_err("bad duration");
    assert_eq!(
        e.to_string(),
        format!("command line: key 'wait': {}", e.message())
    );
    assert!(e.message().contains("invalid duration"));
    let e = settings
        .set("group", "g", Origin::CommandLine)
        .expect_err("not zrecat's");
    assert_eq!(e.kind(), ErrorKind::WrongSection);
    let e = settings
        .set("colour", "red", Origin::CommandLine)
        .expect_err("unknown");
    assert_eq!(e.kind(), ErrorKind::UnknownKey);
    let e = settings
        .set_all("name", ["a", "b"], Origin::CommandLine)
        .expect_err("twice");
    assert_eq!(e.kind(), ErrorKind::DuplicateKey);

    settings
        .set_all("gossip", ["a:1", "", "b:2"], Origin::CommandLine)
        .expect("gossip");
    assert_eq!(settings.get_all("gossip"), ["a:1", "b:2"]);
    settings
        .set_all("gossip", Vec::<String>::new(), Origin::CommandLine)
        .expect("clear");
    assert!(!settings.is_set("gossip"));
    settings.set("raw", "on", Origin::CommandLine).expect("raw");
    assert_eq!(settings.bool("raw"), Some(true));
    settings.set("raw", "", Origin::CommandLine).expect("unset");
    assert_eq!(settings.bool("raw"), None);
    settings
        .set("expired", "4", Origin::CommandLine)
        .expect("expired");
    settings.unset("dead-period");
    assert_eq!(settings.get("expired"), None);
}

#[test]
fn display_lists_values_with_origins() {
    let settings = ok("[zre]\nname = n\ngossip = a:1\ngossip = b:2\n", "zre");
    assert_eq!(
        settings.to_string(),
        "gossip = a:1  # test.conf:3\ngossip = b:2  # test.conf:4\nname = n  # test.conf:2\n"
    );
}

// ---------------------------------------------------------------------------
// Where the file comes from

#[test]
fn zrecfg_missing_file_is_an_error_naming_it() {
    let dir = TempDir::new("missing");
    let etc = dir.write("etc.conf", "[zre]\nname = etc\n");
    let missing = dir.0.join("nope.conf");
    let sources = Sources {
        zrecfg: Some(missing.clone()),
        etc_path: Some(etc),
        ..Sources::default()
    };
    let e = Settings::load_with(&TOOLS, "zre", &sources).expect_err("missing ZRECFG file");
    assert_eq!(e.kind(), ErrorKind::Io);
    assert_eq!(e.path(), Some(missing.as_path()));
    assert_eq!(e.line(), None);
    let shown = e.to_string();
    assert!(shown.starts_with(&format!("{}: ", missing.display())), "{shown}");
    assert!(shown.contains("ZRECFG"), "{shown}");

    // A directory cannot be read either.
    let sources = Sources {
        zrecfg: Some(dir.0.clone()),
        ..Sources::default()
    };
    let e = Settings::load_with(&TOOLS, "zre", &sources).expect_err("directory");
    assert_eq!(e.kind(), ErrorKind::Io);
    assert_eq!(e.path(), Some(dir.0.as_path()));
}

#[test]
fn fallback_order_zrecfg_then_etc_then_home() {
    let dir = TempDir::new("fallback");
    let home = dir.0.join("home");
    std::fs::create_dir_all(&home).expect("mkdir home");
    let home_file = home.join(".zre.conf");
    std::fs::write(&home_file, "[zre]\nname = home\n").expect("write");
    let etc = dir.write("etc.conf", "[zre]\nname = etc\n");
    let custom = dir.write("custom.conf", "[zre]\nname = custom\n");
    let absent_etc = dir.0.join("absent.conf");

    let load = |sources: &Sources| Settings::load_with(&TOOLS, "zre", sources).expect("load");

    let all = Sources {
        zrecfg: Some(custom.clone()),
        zrename: None,
        home: Some(home.clone()),
        etc_path: Some(etc.clone()),
    };
    assert_eq!(load(&all).get("name"), Some("custom"));
    assert_eq!(load(&all).source_file(), Some(custom.as_path()));

    let etc_and_home = Sources {
        zrecfg: None,
        ..all.clone()
    };
    assert_eq!(load(&etc_and_home).get("name"), Some("etc"));
    assert_eq!(etc_and_home.config_file(), Ok(Some(etc.clone())));

    let home_only = Sources {
        etc_path: Some(absent_etc.clone()),
        ..etc_and_home.clone()
    };
    assert_eq!(load(&home_only).get("name"), Some("home"));
    assert_eq!(load(&home_only).source_file(), Some(home_file.as_path()));

    let nothing = Sources {
        home: Some(dir.0.join("nohome")),
        ..home_only.clone()
    };
    let settings = load(&nothing);
    assert_eq!(settings.source_file(), None);
    assert_eq!(settings.keys().count(), 0);
    assert_eq!(Sources::default().config_file(), Ok(None));

    // Only the first file found is read: etc's error is reported even
    // though home's file is fine, and home is not merged in.
    let bad_etc = dir.write("bad.conf", "[zre]\nname = etc\nbogus = 1\n");
    let e = Settings::load_with(
        &TOOLS,
        "zre",
        &Sources {
            etc_path: Some(bad_etc.clone()),
            ..etc_and_home.clone()
        },
    )
    .expect_err("bad etc file");
    assert_eq!(e.path(), Some(bad_etc.as_path()));
    assert_eq!(e.line(), Some(3));
    let partial = dir.write("partial.conf", "[zre]\nexpired = 7\n");
    let settings = load(&Sources {
        etc_path: Some(partial),
        ..etc_and_home
    });
    assert_eq!(settings.get("name"), None);
    assert_eq!(settings.get("expired"), Some("7"));
}

#[test]
fn invalid_utf8_names_the_line() {
    let dir = TempDir::new("utf8");
    let path = dir.0.join("latin1.conf");
    std::fs::write(&path, b"[zre]\nname = ok\nname2 = caf\xe9\n").expect("write");
    let e = Settings::load_file(&TOOLS, &path, "zre").expect_err("not UTF-8");
    assert_eq!(e.kind(), ErrorKind::Encoding);
    assert_eq!(e.line(), Some(3));
    assert!(
        e.to_string().starts_with(&format!("{}:3: ", path.display())),
        "{e}"
    );
}

// ---------------------------------------------------------------------------
// Value parsers

#[test]
fn durations() {
    let good: &[(&str, Duration)] = &[
        ("5", Duration::from_secs(5)),
        ("0", Duration::ZERO),
        ("0.5", Duration::from_millis(500)),
        (".25", Duration::from_millis(250)),
        ("007", Duration::from_secs(7)),
        ("500ms", Duration::from_millis(500)),
        ("1.5ms", Duration::from_micros(1500)),
        ("2s", Duration::from_secs(2)),
        ("2.75s", Duration::from_millis(2750)),
        (" 3 ", Duration::from_secs(3)),
        ("10 ms", Duration::from_millis(10)),
        ("0ms", Duration::ZERO),
        ("4294967295", Duration::from_secs(u32::MAX as u64)),
    ];
    for (text, expected) in good {
        assert_eq!(parse_duration(text), Ok(*expected), "{text:?}");
    }
    let bad = [
        "",
        " ",
        "s",
        "ms",
        ".",
        "5.",
        "-1",
        "+1",
        "1e3",
        "inf",
        "nan",
        "abc",
        "5m",
        "5min",
        "5S",
        "5MS",
        "1,5",
        "1.2.3",
        "0x10",
        "5 5",
        "4294967296",
        "99999999999999999999999999999999999999999",
    ];
    for text in bad {
        let e = parse_duration(text).expect_err(text);
        assert!(e.contains(&format!("\"{text}\"")), "{e}");
    }
}

#[test]
fn booleans() {
    // The original Haskell zre's t/f and y/n too.
    for text in ["true", "TRUE", "Yes", "on", "ON", "1", " true ", "t", "Y"] {
        assert_eq!(parse_bool(text), Ok(true), "{text:?}");
    }
    for text in ["false", "False", "NO", "off", "0", "f", "n"] {
        assert_eq!(parse_bool(text), Ok(false), "{text:?}");
    }
    for text in ["", "2", "tru", "ye", "nn", "enabled", "-1", "01"] {
        assert!(parse_bool(text).is_err(), "{text:?}");
    }
}

#[test]
fn addresses_ports_and_headers() {
    assert_eq!(parse_host_port("kvm-nixos:31337"), Ok(("kvm-nixos", 31337)));
    assert_eq!(parse_host_port("tcp://10.0.0.1:5"), Ok(("10.0.0.1", 5)));
    assert_eq!(parse_host_port("[::1]:31337"), Ok(("[::1]", 31337)));
    for bad in [
        "host",
        "host:",
        "host:0",
        "host:65536",
        "[]:1",
        "a b:1",
        "tcp://:1",
        "a/b:1",
        "[::1:5",
    ] {
        assert!(parse_host_port(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        parse_multicast_group("239.1.2.3:5670").map(|a| a.to_string()),
        Ok("239.1.2.3:5670".to_owned())
    );
    // Beacons are IPv4: an IPv6 group is refused when read, not at start.
    let e = parse_multicast_group("[ff02::1]:5670").expect_err("IPv6 group");
    assert!(e.contains("IPv4"), "{e}");
    assert!(parse_multicast_group("239.1.2.3:0").is_err());
    assert_eq!(parse_header(" X-K = v=w "), Ok(("X-K", "v=w")));
    assert_eq!(parse_header("X-E="), Ok(("X-E", "")));
    assert_eq!("0".parse::<PortRange>(), Ok(PortRange::Any));
    assert_eq!(
        "5-5".parse::<PortRange>(),
        Ok(PortRange::Range { low: 5, high: 5 })
    );
    assert_eq!(PortRange::Range { low: 1, high: 2 }.to_string(), "1-2");
    assert!("1-2-3".parse::<PortRange>().is_err());
    assert_eq!(TOOLS.check_value("dead-period", "1"), Ok(()));
    assert!(TOOLS.check_value("dead-period", "0").is_err());
    assert!(TOOLS.check_value("colour", "red").is_err());
}

// ---------------------------------------------------------------------------
// The shipped zre.conf

fn shipped() -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("zre.conf");
    let text = std::fs::read_to_string(&path).expect("read the shipped zre.conf");
    (path, text)
}

#[test]
fn shipped_file_loads_with_nothing_set() {
    let (path, _) = shipped();
    for applet in TOOLS.applet_names() {
        let settings = match Settings::load_file(&TOOLS, &path, applet) {
            Ok(settings) => settings,
            Err(e) => panic!("{applet}: {e}"),
        };
        assert_eq!(
            settings.keys().collect::<Vec<_>>(),
            Vec::<&str>::new(),
            "{applet}"
        );
        assert_eq!(settings.source_file(), Some(path.as_path()));
    }
}

/// The commented-out settings of the example: lines `#key = ...` (no blank
/// after the `#`; prose comments have one), with the section they are in.
fn example_lines(text: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut found = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
        } else if let Some(setting) = line
            .strip_prefix('#')
            .filter(|l| l.starts_with(char::is_alphabetic))
        {
            let (key, value) = setting.split_once('=').unwrap_or((setting, ""));
            found.push((section.clone(), key.trim().to_owned(), value.to_owned()));
        }
    }
    found
}

#[test]
fn shipped_file_lists_every_key_in_its_section() {
    let (_, text) = shipped();
    let lines = example_lines(&text);
    let mut expected: Vec<(String, String)> = NODE_KEYS
        .iter()
        .map(|k| ("zre".to_owned(), k.to_string()))
        .collect();
    for applet in TOOLS.applet_names() {
        let own = TOOLS.applet_keys(applet).expect("known applet");
        expected.extend(own.iter().map(|k| (applet.to_string(), k.to_string())));
    }
    let mut listed: Vec<(String, String)> = lines.iter().map(|(s, k, _)| (s.clone(), k.clone())).collect();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected, "each key exactly once, in its section");
    assert_eq!(TOOLS.keys().count(), expected.len());
    for applet in TOOLS.applet_names() {
        assert!(text.contains(&format!("\n[{applet}]\n")), "[{applet}] header");
        assert_eq!(
            TOOLS.keys_for(applet).map(|k| k.len()),
            Some(NODE_KEYS.len() + TOOLS.applet_keys(applet).map_or(0, |k| k.len()))
        );
    }
}

#[test]
fn shipped_file_uncommented_gives_the_defaults() {
    let (path, text) = shipped();
    let uncommented: String = text
        .lines()
        .map(|line| match line.strip_prefix('#') {
            Some(setting) if setting.starts_with(char::is_alphabetic) => format!("{setting}\n"),
            _ => format!("{line}\n"),
        })
        .collect();
    for applet in TOOLS.applet_names() {
        let settings = match Settings::parse(&TOOLS, &uncommented, &path, applet) {
            Ok(settings) => settings,
            Err(e) => panic!("{applet}: {e}"),
        };
        for key in TOOLS.keys_for(applet).expect("known applet") {
            assert_eq!(
                settings.get(key),
                TOOLS.default_of(key).as_deref(),
                "{applet}: {key}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The original Haskell zre's zre.conf (haskell-zre 0.1.5.2, copied verbatim
// to tests/seed/haskell-zre.conf)

fn seed() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/seed/haskell-zre.conf");
    std::fs::read_to_string(path).expect("read tests/seed/haskell-zre.conf")
}

#[test]
fn haskell_seed_file_loads_verbatim_for_every_applet() {
    let text = format!("{}debug = true\n", seed());
    for applet in TOOLS.applet_names() {
        let settings = ok(&text, applet);
        assert_eq!(settings.get("name"), Some("exampleZREApp"), "{applet}");
        assert_eq!(settings.get_all("gossip"), ["kvm-nixos:31337"], "{applet}");
        // `debug` is the Haskell name of `verbose`.
        assert_eq!(settings.get("verbose"), Some("true"), "{applet}");
        assert_eq!(settings.bool("debug"), Some(true), "{applet}");
        // Its commented-out lines (#interface =, #quiet-period = 5 ...) set nothing.
        for key in [
            "interface",
            "multicast-group",
            "evasive",
            "expired",
            "beacon-interval",
        ] {
            assert!(!settings.is_set(key), "{applet}: {key}");
        }
    }
}

#[test]
fn haskell_seed_keys_uncommented_translate_to_ours() {
    // Its commented lines, uncommented as a user would, plus the keys of
    // its Network.ZRE.Options that the file does not list. Its durations
    // are (fractional) seconds, as ours are; its booleans include t/y.
    let text: String = seed()
        .lines()
        .map(|line| match line.strip_prefix('#') {
            Some("interface =") => "interface = eth0\n".to_owned(),
            Some("multicast-group = IP:PORT") => "multicast-group = 225.25.25.25:5670\n".to_owned(),
            Some(setting) => format!("{setting}\n"),
            None => format!("{line}\n"),
        })
        .chain(["quiet-ping-rate = 1.0\n".to_owned(), "debug = t\n".to_owned()])
        .collect();
    let settings = ok(&text, "zrecat");
    assert_eq!(settings.get("interface"), Some("eth0"));
    assert_eq!(settings.get("multicast-group"), Some("225.25.25.25:5670"));
    assert_eq!(settings.duration("evasive"), Some(Duration::from_secs(5)));
    assert_eq!(settings.duration("quiet-period"), Some(Duration::from_secs(5)));
    assert_eq!(settings.duration("expired"), Some(Duration::from_secs(10)));
    assert_eq!(settings.duration("beacon-interval"), Some(Duration::from_secs(1)));
    assert_eq!(settings.duration("quiet-ping-rate"), Some(Duration::from_secs(1)));
    assert_eq!(settings.bool("verbose"), Some(true));
    // Its own defaults, written out, read the same way.
    let defaults = "[zre]\nquiet-period = 1.0\ndead-period = 5.0\nbeacon-period = 0.9\n";
    let settings = ok(defaults, "zre");
    assert_eq!(settings.duration("evasive"), Some(Duration::from_secs(1)));
    assert_eq!(settings.duration("expired"), Some(Duration::from_secs(5)));
    assert_eq!(
        settings.duration("beacon-interval"),
        Some(Duration::from_millis(900))
    );
}
