//! zre.conf: the INI configuration file shared by the tools.
//!
//! The tools (`zre`, `zrecat`, `zretime`, `zreworker`, `zgossip_server`) and
//! any application built on this library take their settings from, in
//! decreasing precedence:
//!
//! 1. a command-line flag (applied by the caller with [`Settings::set`]),
//! 2. the `ZRENAME` environment variable (for `name` only),
//! 3. the applet's own section of the file (`[zrecat]`, ...),
//! 4. the `[zre]` section of the file,
//! 5. the built-in default (see [`KeySpec::default`]; [`Settings`] only holds
//!    what was actually set, so the caller applies the default last; a
//!    node option's default is [`NodeBuilder`](crate::NodeBuilder)'s, from
//!    [`crate::defaults`]).
//!
//! The sections and the keys beyond the node options ([`NODE_KEYS`]) are
//! the caller's: it passes a [`Schema`] naming its applets. The zre tools'
//! schema has the common section `[zre]` and one section per applet.
//!
//! The file is the one named by `ZRECFG` (an error if it cannot be read),
//! else `/etc/zre.conf` if it exists, else `~/.zre.conf` if it exists; only
//! the first one found is read. See [`Sources`].
//!
//! # Format
//!
//! ```ini
//! [zre]
//! name = exampleZREApp
//! gossip = kvm-nixos:31337
//! expired = 30  # seconds
//!
//! [zrecat]
//! wait = 500ms
//! ```
//!
//! - `key = value`, whitespace around both trimmed. Keys are the long option
//!   names of the tools ([`NODE_KEYS`], [`Applet::keys`]); the original
//!   Haskell zre's `quiet-period`, `dead-period`, `beacon-period` and
//!   `debug` are accepted as aliases ([`ALIASES`]) and stored under the
//!   canonical name, and its `quiet-ping-rate` is read (our pings follow
//!   Zyre's schedule, so it does not apply). Its `zre.conf` loads as it is.
//! - Comments: a line whose first non-blank character is `#` or `;`, and
//!   the rest of a line from a `#` or `;` that follows whitespace. (So a
//!   value cannot contain ` #` or ` ;`.)
//! - An empty value (`interface =`) means unset, exactly as if the line were
//!   absent.
//! - `[zre]` (the schema's common section) applies to every applet; an applet section overrides it for
//!   that applet. Applet-only keys may appear in `[zre]` (they apply to the
//!   applet that knows them) or in their applet's section, not in another
//!   applet's section.
//! - `gossip`, `header` and `bind` may be repeated: the values of one section
//!   accumulate, in order; if an applet section sets one, its list replaces
//!   the `[zre]` list. Any other key given twice in one section is an error.
//! - Values are checked when the file is loaded, so a bad value fails
//!   early with `path:LINE: key 'KEY': message`. Nothing is silently ignored.
//! - Durations are seconds (`5`, `0.5`) or carry a unit (`500ms`, `2s`);
//!   booleans are `true/false`, `yes/no`, `on/off`, `1/0`, in any case.

mod error;
mod ini;
mod keys;
mod load;
mod settings;
mod values;

pub use error::{ConfigError, ErrorKind, Origin};
pub use keys::{ALIASES, Applet, DefaultValue, KeySpec, NODE_KEYS, Schema};
pub use load::{ETC_CONFIG_PATH, HOME_CONFIG_NAME, Sources};
pub use settings::Settings;
pub use values::{
    ACCEPTED_ENDPOINTS, MAX_DURATION, MAX_TEXT_LEN, PortRange, ValueKind, format_duration, parse_bool,
    parse_duration, parse_endpoint, parse_gossip_server, parse_header, parse_host_port,
    parse_multicast_group, parse_tcp_endpoint,
};
