//! The tools' sections of zre.conf: the applets and the keys each reads
//! beyond the node options. `[zre]` is both the shell's section and the
//! one that applies to every applet.
//!
//! Every long option of an applet is a key of its section, except
//! `--help`, `--install-links` and `--curve-keygen` (actions, not settings),
//! `--no-beacon` (the key is `beacon = false`) and `--no-listen-multicast`
//! (the key is `listen-multicast = false`); the node options are
//! [`zre::config::NODE_KEYS`]. The original Haskell zre's keys load too:
//! `quiet-period`, `dead-period`, `beacon-period` and `debug` are aliases,
//! `quiet-ping-rate` is read but does not apply.
//!
//! Only `zre::config` is used here: tests/tools/config.rs includes this file to
//! check the loader against the real schema.

use zre::config::{Applet, DefaultValue as D, KeySpec, Schema, ValueKind as V};

/// The applets' key tables and the sections of the file.
pub static TOOLS: Schema = Schema {
    common_section: "zre",
    applets: &[
        Applet {
            name: "zre",
            keys: &[KeySpec::new(
                "metrics",
                V::Text,
                D::Unset,
                "serve the node's counters at http://IP:PORT/metrics (Prometheus text format)",
            )],
        },
        Applet {
            name: "zrecat",
            keys: &[
                KeySpec::new(
                    "wait",
                    V::Duration,
                    D::Duration(ZRECAT_WAIT),
                    "time to wait for peers",
                ),
                KeySpec::new(
                    "peers",
                    V::Count,
                    D::Number(ZRECAT_PEERS as u64),
                    "how many peers must be in GROUP before anything is sent",
                ),
                KeySpec::new(
                    "raw",
                    V::Bool,
                    D::Bool(false),
                    "binary mode: send stdin in chunks, print messages exactly as received",
                ),
                KeySpec::new(
                    "listen",
                    V::Bool,
                    D::Bool(false),
                    "only print what arrives; do not read stdin",
                ),
            ],
        },
        Applet {
            name: "zretime",
            keys: &[
                KeySpec::new(
                    "group",
                    V::Text,
                    D::Text(ZRETIME_GROUP),
                    "group to shout the time to",
                ),
                KeySpec::new(
                    "interval",
                    V::NonZeroDuration,
                    D::Duration(ZRETIME_INTERVAL),
                    "time between shouts",
                ),
            ],
        },
        Applet {
            name: "zreworker",
            keys: &[],
        },
        Applet {
            name: "zgossip_server",
            keys: &[
                KeySpec::new(
                    "bind",
                    V::Endpoint,
                    D::Text(zre::DEFAULT_GOSSIP_ENDPOINT),
                    "endpoint to listen on (repeatable)",
                )
                .repeatable(),
                KeySpec::new(
                    "connect",
                    V::HostPort,
                    D::Unset,
                    "another server to share tuples with, HOST:PORT (repeatable)",
                )
                .repeatable(),
                KeySpec::new(
                    "client-timeout",
                    V::NonZeroDuration,
                    D::Computed(|| D::Duration(zre::GossipServerConfig::default().client_timeout)),
                    "drop clients silent for this long",
                ),
                KeySpec::new(
                    "curve-cert",
                    V::Text,
                    D::Unset,
                    "serve CURVE clients only, with this secret certificate (czmq zcert format)",
                ),
                KeySpec::new(
                    "tuple-ttl",
                    V::Duration,
                    D::Duration(std::time::Duration::ZERO),
                    "TTL of stored tuples (0 = the publisher's TTL)",
                ),
            ],
        },
    ],
};

/// How many peers zrecat waits for in its group before sending.
pub const ZRECAT_PEERS: usize = 1;
/// How long zrecat waits for a peer in its group before sending.
const ZRECAT_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
/// The group zretime shouts to.
const ZRETIME_GROUP: &str = "time";
/// The time between two of zretime's shouts.
const ZRETIME_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
