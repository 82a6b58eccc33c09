//! The allow-list of CURVE client keys: a directory of public certificates
//! in czmq's zcert format (what czmq's `zcertstore` reads for zauth).
//!
//! Every regular file in the directory that reads as a certificate adds
//! its public key; other files are skipped with a warning. The directory
//! is read again when it is consulted (a ZAP request) and the last read is
//! at least [`RELOAD_INTERVAL`] old, so a key added or removed takes
//! effect within a second, without a signal.

use crate::curve::cert::{CertError, Certificate};
use crate::wire::curve_key::CurveKey;
use log::{info, warn};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How old a reading of the directory may get before a ZAP request makes
/// us read it again.
pub(crate) const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// The public keys allowed through the CURVE handshake.
#[derive(Debug)]
pub(crate) struct AllowList {
    dir: PathBuf,
    keys: HashSet<CurveKey>,
    loaded_at: Instant,
}

impl AllowList {
    /// Reads `dir`; fails (naming it) when it cannot be listed. Files that
    /// are not certificates are skipped with a warning.
    pub(crate) fn load(dir: &Path, now: Instant) -> Result<AllowList, CertError> {
        let keys = read_dir(dir)?;
        info!("CURVE allow-list {}: {} key(s)", dir.display(), keys.len());
        Ok(AllowList {
            dir: dir.to_owned(),
            keys,
            loaded_at: now,
        })
    }

    /// Whether `key` may connect; re-reads the directory first when the
    /// last reading is [`RELOAD_INTERVAL`] old. If the directory has become
    /// unreadable, the keys of the last good reading stay.
    pub(crate) fn allows(&mut self, key: &CurveKey, now: Instant) -> bool {
        if now.saturating_duration_since(self.loaded_at) >= RELOAD_INTERVAL {
            self.loaded_at = now;
            match read_dir(&self.dir) {
                Ok(keys) => {
                    if keys != self.keys {
                        info!(
                            "CURVE allow-list {}: now {} key(s)",
                            self.dir.display(),
                            keys.len()
                        );
                    }
                    self.keys = keys;
                }
                Err(err) => warn!("CURVE allow-list kept as it was: {err}"),
            }
        }
        self.keys.contains(key)
    }
}

fn read_dir(dir: &Path) -> Result<HashSet<CurveKey>, CertError> {
    let io_error = |source| CertError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut keys = HashSet::new();
    for entry in std::fs::read_dir(dir).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        // Following symlinks, as zcertstore does; skipping directories.
        if !path.is_file() {
            continue;
        }
        match Certificate::load(&path) {
            Ok(cert) => {
                keys.insert(cert.public_key);
            }
            Err(err) => warn!("CURVE allow-list: skipping {err}"),
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_and_go_with_the_files() {
        let dir = std::env::temp_dir().join(format!("zre-allow-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).unwrap();
        // Fixed keys: the list reads files, it needs no libzmq with CURVE.
        let cert = |n: u8| Certificate {
            public_key: [n; 32],
            secret_key: Some([n + 100; 32]),
            metadata: Vec::new(),
        };
        let (a, b) = (cert(1), cert(2));
        a.save(&dir.join("a")).unwrap();
        std::fs::write(dir.join("junk"), "not a certificate\n").unwrap();
        let start = Instant::now();
        let mut list = AllowList::load(&dir, start).unwrap();
        // a and a_secret: one key.
        assert_eq!(list.keys.len(), 1);
        assert!(list.allows(&a.public_key, start));
        assert!(!list.allows(&b.public_key, start));
        b.save(&dir.join("b")).unwrap();
        std::fs::remove_file(dir.join("a")).unwrap();
        std::fs::remove_file(dir.join("a_secret")).unwrap();
        // Not re-read within the interval …
        assert!(!list.allows(&b.public_key, start + Duration::from_millis(500)));
        // … and re-read after it.
        assert!(list.allows(&b.public_key, start + RELOAD_INTERVAL));
        assert!(!list.allows(&a.public_key, start + RELOAD_INTERVAL));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(AllowList::load(&dir, start).is_err());
    }
}
