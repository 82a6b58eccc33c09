//! Whether the address our inbox is bound to is still ours.
//!
//! A DHCP renumbering, `ip addr del` + `ip addr add`, an IPv6 address that
//! is replaced, an interface that goes away: a node that does not notice
//! keeps advertising an endpoint nobody can reach, and each of its HELLOs
//! makes its peers ENTER it, fail to link, and EXIT it again (zyre#614,
//! #706).
//!
//! The reactor asks [`AddressWatch::check`] when it wakes anyway (each
//! beacon, at most once per [`CHECK_INTERVAL`]), with a fresh listing of
//! the machine's addresses from `getifaddrs(3)` (the `if-addrs` crate the
//! interface was chosen with). That is one netlink dump a second and no
//! wake-up of its own, against a netlink subscription (a socket, a crate
//! of its own, and Linux only) that would report a change a second
//! sooner: a peer's evasive timeout is 5 s.
//!
//! The decision is a pure function of the listing, tested below; binding
//! and telling the core is the reactor's (`node/reactor/rebind.rs`).

use super::interface::{self, Interface, InterfaceSpec};
use log::{info, warn};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How often, at most, the addresses are listed.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Our address is still on our interface.
    Same,
    /// Our address is gone and nothing replaces it yet: wait.
    Gone,
    /// Our address is gone; the interface has this one now.
    Moved(Interface),
}

/// The interface a node serves, followed by name.
pub(crate) struct AddressWatch {
    /// The interface and address the inbox is bound to now.
    current: Interface,
    /// The user named the address (`-i 10.0.0.5`): no other will do.
    pinned: bool,
    next_check: Instant,
    /// "waiting for an address" was said (once per absence).
    said_gone: bool,
}

impl AddressWatch {
    pub(crate) fn new(current: Interface, pinned: bool, now: Instant) -> AddressWatch {
        AddressWatch {
            current,
            pinned,
            next_check: now + CHECK_INTERVAL,
            said_gone: false,
        }
    }

    /// Whether a check is due at `now`.
    pub(crate) fn due(&self, now: Instant) -> bool {
        now >= self.next_check
    }

    /// Lists the machine's addresses and decides (see [`Self::decide`]);
    /// a listing that fails counts as no change.
    pub(crate) fn check(&mut self, now: Instant) -> Change {
        self.next_check = now + CHECK_INTERVAL;
        match interface::list() {
            Ok(all) => self.decide(&all),
            Err(err) => {
                log::debug!("{err}");
                Change::Same
            }
        }
    }

    /// What `all` (a `getifaddrs` listing) means for our address. A loss
    /// is logged once, until an address is back.
    pub(crate) fn decide(&mut self, all: &[if_addrs::Interface]) -> Change {
        let ours = self.current.address;
        let present = all
            .iter()
            .any(|iface| iface.name == self.current.name && iface.ip() == ours);
        if present {
            if std::mem::take(&mut self.said_gone) {
                info!("interface {}: {ours} is back", self.current.name);
            }
            return Change::Same;
        }
        let replacement = if self.pinned {
            None
        } else {
            let spec = InterfaceSpec::Name(self.current.name.clone());
            match ours {
                IpAddr::V4(_) => interface::choose_from(&spec, all).ok(),
                IpAddr::V6(_) => interface::choose_ipv6_from(&spec, all).ok(),
            }
            // Loopback mode is never watched; an address that turned into
            // a loopback one is no LAN address.
            .filter(|iface| !iface.loopback)
        };
        match replacement {
            Some(iface) => Change::Moved(iface),
            None => {
                if !std::mem::replace(&mut self.said_gone, true) {
                    warn!(
                        "interface {} no longer has our address {ours}{}: peers cannot reach us; waiting for it",
                        self.current.name,
                        if self.pinned { "" } else { " nor another one" }
                    );
                }
                Change::Gone
            }
        }
    }

    /// The inbox is bound at `iface`'s address now.
    pub(crate) fn moved(&mut self, iface: Interface) {
        self.said_gone = false;
        self.current = iface;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use if_addrs::{IfAddr, IfOperStatus, Ifv4Addr, Ifv6Addr};
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(name: &str, ip: [u8; 4]) -> if_addrs::Interface {
        if_addrs::Interface {
            name: name.into(),
            addr: IfAddr::V4(Ifv4Addr {
                ip: Ipv4Addr::from(ip),
                netmask: Ipv4Addr::new(255, 255, 255, 0),
                prefixlen: 24,
                broadcast: Some(Ipv4Addr::new(ip[0], ip[1], ip[2], 255)),
            }),
            index: Some(2),
            oper_status: IfOperStatus::Up,
            is_p2p: false,
        }
    }

    fn v6(name: &str, ip: &str) -> if_addrs::Interface {
        if_addrs::Interface {
            name: name.into(),
            addr: IfAddr::V6(Ifv6Addr {
                ip: ip.parse().unwrap(),
                netmask: Ipv6Addr::from(!0u128 << 64),
                prefixlen: 64,
                broadcast: None,
            }),
            index: Some(2),
            oper_status: IfOperStatus::Up,
            is_p2p: false,
        }
    }

    fn watch(all: &[if_addrs::Interface], pinned: bool) -> AddressWatch {
        let current = match all[0].addr {
            IfAddr::V4(_) => interface::choose_from(&InterfaceSpec::Name(all[0].name.clone()), all),
            IfAddr::V6(_) => interface::choose_ipv6_from(&InterfaceSpec::Name(all[0].name.clone()), all),
        }
        .unwrap();
        AddressWatch::new(current, pinned, Instant::now())
    }

    #[test]
    fn a_renumbered_interface_is_followed_by_name() {
        let mut w = watch(&[v4("eth0", [10, 0, 0, 5])], false);
        assert_eq!(
            w.decide(&[v4("lo", [127, 0, 0, 1]), v4("eth0", [10, 0, 0, 5])]),
            Change::Same
        );
        // `ip addr del`: nothing on eth0 for a while.
        assert_eq!(w.decide(&[v4("lo", [127, 0, 0, 1])]), Change::Gone);
        assert!(w.said_gone);
        // `ip addr add` another address.
        let Change::Moved(iface) = w.decide(&[v4("eth0", [10, 0, 0, 9])]) else {
            panic!("not moved");
        };
        assert_eq!(iface.address, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)));
        assert_eq!(iface.name, "eth0");
        w.moved(iface);
        assert_eq!(w.decide(&[v4("eth0", [10, 0, 0, 9])]), Change::Same);
    }

    #[test]
    fn our_address_on_another_interface_is_not_ours() {
        let mut w = watch(&[v4("eth0", [10, 0, 0, 5])], false);
        assert_eq!(w.decide(&[v4("eth1", [10, 0, 0, 5])]), Change::Gone);
    }

    #[test]
    fn a_pinned_address_is_waited_for() {
        let mut w = watch(&[v4("eth0", [10, 0, 0, 5])], true);
        assert_eq!(w.decide(&[v4("eth0", [10, 0, 0, 9])]), Change::Gone);
        assert_eq!(w.decide(&[v4("eth0", [10, 0, 0, 5])]), Change::Same);
        assert!(!w.said_gone, "said again at the next loss");
    }

    #[test]
    fn an_ipv6_address_replaced_prefers_a_global_one() {
        let mut w = watch(&[v6("eth0", "fd00:1::5"), v6("eth0", "fe80::1")], false);
        assert_eq!(w.current.address, "fd00:1::5".parse::<IpAddr>().unwrap());
        let listing = [v6("eth0", "fe80::1"), v6("eth0", "fd00:1::9")];
        let Change::Moved(iface) = w.decide(&listing) else {
            panic!("not moved");
        };
        assert_eq!(iface.address, "fd00:1::9".parse::<IpAddr>().unwrap());
        // Only the link-local one left: that will do.
        let Change::Moved(iface) = w.decide(&[v6("eth0", "fe80::1")]) else {
            panic!("not moved");
        };
        assert_eq!(iface.address, "fe80::1".parse::<IpAddr>().unwrap());
    }
}
