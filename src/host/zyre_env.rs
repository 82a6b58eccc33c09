//! The environment variables Zyre users set for czmq (read by `zsys_init`):
//! `ZSYS_IPV6`, `ZSYS_IPV6_MCAST_ADDRESS`, `ZSYS_INTERFACE`. They apply
//! where neither a flag nor zre.conf sets the value; the tools apply them,
//! a library user may call [`ZyreEnv::read`] and do the same.

use std::net::Ipv6Addr;

/// The values found in the environment; `None` where a variable is unset
/// or empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZyreEnv {
    /// `ZSYS_IPV6`: an integer, non-zero for IPv6 mode (czmq reads it with
    /// `atoi`; anything but digits is refused here rather than read as 0).
    pub ipv6: Option<bool>,
    /// `ZSYS_IPV6_MCAST_ADDRESS`: the IPv6 multicast group of the beacons.
    pub ipv6_group: Option<Ipv6Addr>,
    /// `ZSYS_INTERFACE`: the interface (name or address), `*` meaning any.
    pub interface: Option<String>,
}

impl ZyreEnv {
    /// Reads the process environment.
    ///
    /// # Errors
    ///
    /// A message naming the variable and its value when one does not parse.
    pub fn read() -> Result<ZyreEnv, String> {
        ZyreEnv::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (for tests).
    ///
    /// # Errors
    ///
    /// As [`ZyreEnv::read`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ZyreEnv, String> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let ipv6 = match get("ZSYS_IPV6") {
            None => None,
            Some(v) => Some(
                v.parse::<i64>()
                    .map(|n| n != 0)
                    .map_err(|_| format!("ZSYS_IPV6={v}: expected 0 or 1"))?,
            ),
        };
        let ipv6_group = match get("ZSYS_IPV6_MCAST_ADDRESS") {
            None => None,
            Some(v) => Some(
                v.parse::<Ipv6Addr>()
                    .ok()
                    .filter(Ipv6Addr::is_multicast)
                    .ok_or_else(|| {
                        format!("ZSYS_IPV6_MCAST_ADDRESS={v}: not an IPv6 multicast address (ff00::/8)")
                    })?,
            ),
        };
        Ok(ZyreEnv {
            ipv6,
            ipv6_group,
            interface: get("ZSYS_INTERFACE"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Result<ZyreEnv, String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ZyreEnv::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn zyre_values_read_as_czmq_reads_them() {
        assert_eq!(env(&[]).unwrap(), ZyreEnv::default());
        let e = env(&[
            ("ZSYS_IPV6", "1"),
            ("ZSYS_IPV6_MCAST_ADDRESS", "ff02::1:2"),
            ("ZSYS_INTERFACE", "eth0"),
        ])
        .unwrap();
        assert_eq!(e.ipv6, Some(true));
        assert_eq!(e.ipv6_group, Some("ff02::1:2".parse().unwrap()));
        assert_eq!(e.interface.as_deref(), Some("eth0"));
        assert_eq!(env(&[("ZSYS_IPV6", "0")]).unwrap().ipv6, Some(false));
        assert_eq!(env(&[("ZSYS_IPV6", "")]).unwrap().ipv6, None);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = env(&[("ZSYS_IPV6", "yes")]).unwrap_err();
        assert!(err.contains("ZSYS_IPV6=yes"), "{err}");
        let err = env(&[("ZSYS_IPV6_MCAST_ADDRESS", "fd00::1")]).unwrap_err();
        assert!(err.contains("ZSYS_IPV6_MCAST_ADDRESS"), "{err}");
        assert!(env(&[("ZSYS_IPV6_MCAST_ADDRESS", "nonsense")]).is_err());
    }
}
