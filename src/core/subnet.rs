//! An IP subnet (address and prefix length), to tell which beacons come
//! from the LAN a node serves.

use std::fmt;
use std::net::IpAddr;

/// An IPv4 or IPv6 subnet, e.g. `10.0.0.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    /// Any address in the subnet (the host bits are ignored).
    pub address: IpAddr,
    /// The prefix length in bits: 0–32 for IPv4, 0–128 for IPv6 (larger
    /// values are taken as the full length).
    pub prefix_len: u8,
}

impl Subnet {
    /// The subnet of `address` with `prefix_len` network bits.
    pub fn new(address: IpAddr, prefix_len: u8) -> Subnet {
        Subnet { address, prefix_len }
    }

    /// The subnet of `address` with the netmask `mask` (of the same family;
    /// its leading ones are counted).
    pub fn from_netmask(address: IpAddr, mask: IpAddr) -> Subnet {
        let prefix_len = match mask {
            IpAddr::V4(m) => u32::from(m).leading_ones() as u8,
            IpAddr::V6(m) => u128::from(m).leading_ones() as u8,
        };
        Subnet::new(address, prefix_len)
    }

    /// Whether `ip` is in this subnet; an address of the other family never is.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let bits = u32::from(self.prefix_len.min(32));
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let bits = u32::from(self.prefix_len.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn membership_follows_the_prefix() {
        let lan = Subnet::from_netmask(ip("10.77.2.2"), ip("255.255.255.0"));
        assert_eq!(lan.prefix_len, 24);
        assert!(lan.contains(ip("10.77.2.200")));
        assert!(!lan.contains(ip("10.77.102.2")));
        assert!(!lan.contains(ip("fd00::1")));
        assert!(Subnet::new(ip("10.0.0.1"), 0).contains(ip("192.0.2.1")));
        assert!(Subnet::new(ip("10.0.0.1"), 32).contains(ip("10.0.0.1")));
        assert!(!Subnet::new(ip("10.0.0.1"), 32).contains(ip("10.0.0.2")));
        let v6 = Subnet::new(ip("fd00:68::1"), 64);
        assert!(v6.contains(ip("fd00:68::ffff")));
        assert!(!v6.contains(ip("fd00:69::1")));
        assert!(Subnet::new(ip("fd00::1"), 200).contains(ip("fd00::1")));
    }
}
