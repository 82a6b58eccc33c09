//! haskell-zre's command-line flags, for its users' scripts: rewritten to
//! ours before the arguments are parsed. Its config file's names for the
//! same settings (`quiet-period`, ...) are read by `zre.conf` itself (see
//! `src/config/keys.rs`); these are the flags of its `Options.hs` and of
//! its `zrecat` (`app/Cat.hs`).

/// `args` (after the applet name) with haskell-zre's flags in our
/// spelling, and a note for each flag that is read but does nothing here.
/// An option's value is left to our parser to check, except that of a
/// flag we drop, which must be a number as haskell-zre wants it.
///
/// Node flags, for every applet that runs a node (not `zgossip_server`,
/// whose `-b` is `--bind`, as haskell-zre's gossip server takes no flags):
/// `-q`/`--quiet-period` → `--evasive`, `-d`/`--dead-period` →
/// `--expired`, `-b`/`--beacon-period` → `--beacon-interval`, `-m` →
/// `--multicast-group`, `--debug` → `-v`, `-p`/`--quiet-ping-rate N`
/// dropped (we ping once a second from the evasive timeout on, as Zyre).
/// zrecat's `-N`/`--shutdown` is what ours does anyway (it ends at the end
/// of its input) and `-O`/`--bufsize N` is dropped (`--raw` sends chunks of
/// 64 KiB). zrecat's `-l` is kept: ours is `--listen`, and it warns when
/// given input.
pub(crate) fn rewrite(applet: &str, args: &[String]) -> Result<(Vec<String>, Vec<String>), String> {
    let mut out = Vec::with_capacity(args.len());
    let mut notes = Vec::new();
    if applet == "zgossip_server" {
        return Ok((args.to_vec(), notes));
    }
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        // After `--`, everything is positional.
        if arg == "--" {
            out.push(arg.clone());
            out.extend(rest.cloned());
            break;
        }
        let renamed = match arg.as_str() {
            "-q" | "--quiet-period" => Some("--evasive"),
            "-d" | "--dead-period" => Some("--expired"),
            "-b" | "--beacon-period" => Some("--beacon-interval"),
            "-m" => Some("--multicast-group"),
            "--debug" => Some("-v"),
            _ => None,
        };
        if let Some(ours) = renamed {
            out.push(ours.to_owned());
            continue;
        }
        match (applet, arg.as_str()) {
            // Options that do nothing here: their value is checked, then
            // both are dropped, with a note.
            (_, "-p" | "--quiet-ping-rate") | ("zrecat", "-O" | "--bufsize") => {
                let value = rest.next().ok_or_else(|| format!("{arg}: a value is needed"))?;
                if value.parse::<f64>().map_or(true, |v| !v.is_finite() || v < 0.0) {
                    return Err(format!("{arg}: invalid number \"{value}\""));
                }
                notes.push(format!("{arg} (haskell-zre's) is read but does nothing here"));
            }
            // What ours does anyway.
            ("zrecat", "-N" | "--shutdown") => {}
            _ => out.push(arg.clone()),
        }
    }
    Ok((out, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(applet: &str, args: &[&str]) -> Result<(Vec<String>, usize), String> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        rewrite(applet, &args).map(|(args, notes)| (args, notes.len()))
    }

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn haskell_flags_become_ours() {
        assert_eq!(
            rewritten(
                "zre",
                &[
                    "-q",
                    "2",
                    "--dead-period",
                    "10",
                    "-b",
                    "0.9",
                    "-m",
                    "225.25.25.25:5670",
                    "--debug"
                ]
            ),
            Ok((
                strings(&[
                    "--evasive",
                    "2",
                    "--expired",
                    "10",
                    "--beacon-interval",
                    "0.9",
                    "--multicast-group",
                    "225.25.25.25:5670",
                    "-v"
                ]),
                0
            ))
        );
        assert_eq!(
            rewritten("zrecat", &["-N", "-O", "4096", "-p", "1", "test"]),
            Ok((strings(&["test"]), 2))
        );
        assert_eq!(
            rewritten("zretime", &["-n", "t", "--", "-q"]),
            Ok((strings(&["-n", "t", "--", "-q"]), 0))
        );
        // haskell-zre's gossip server takes no flags; ours has -b, --bind.
        assert_eq!(
            rewritten("zgossip_server", &["-b", "tcp://*:1"]),
            Ok((strings(&["-b", "tcp://*:1"]), 0))
        );
        // zrecat -N is a switch elsewhere too: only zrecat drops it.
        assert_eq!(rewritten("zre", &["-N"]), Ok((strings(&["-N"]), 0)));
        assert!(rewritten("zre", &["-p"]).is_err());
        assert!(rewritten("zre", &["-p", "often"]).is_err());
    }
}
