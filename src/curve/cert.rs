//! CURVE certificates in czmq's `zcert` file format, so that keys made by
//! Zyre users (`zcert_save`, `zcurve_keygen`) work here and ours there.
//!
//! A certificate is two text files in ZPL (ZeroMQ RFC 4): `PATH` holds the
//! public key, `PATH_secret` (mode 0600) both keys:
//!
//! ```text
//! #   ZeroMQ CURVE **Secret** Certificate
//! metadata
//!     name = "alice"
//! curve
//!     public-key = "&w(&c@n&1tUGB+)OgQoMxWepOUQiVOU[%isJ.F!N"
//!     secret-key = "a:9ObfP2.X:sZYE[SLscmc{]1Y94uh68kN[Tz}.p"
//! ```
//!
//! Keys are 32 bytes, written as 40 characters of Z85 (RFC 32). Source:
//! czmq 4.2 `zcert.c` (save/load) and `zconfig.c` (the ZPL reader).
//! Errors name the file and, for a bad line, its number.

use crate::wire::curve_key::{CurveKey, decode_z85, encode_z85, is_usable_key, zyre_reads_as_keyless};
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What went wrong loading or saving a certificate; `Display` names the
/// file (and the line, for a syntax error).
#[derive(Debug)]
#[non_exhaustive]
pub enum CertError {
    /// The file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A line is not ZPL, or holds a bad key.
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The `curve` section lacks a key this use needs (`public-key`, or
    /// `secret-key` in a secret certificate).
    Missing {
        /// The file.
        path: PathBuf,
        /// The missing entry, `public-key` or `secret-key`.
        key: &'static str,
    },
    /// libzmq could not make a key pair (built without CURVE).
    Keygen(zmq::Error),
    /// The secret key's public key is not the file's `public-key`: the
    /// file was edited or pieced together, and no peer could reach us.
    Mismatch {
        /// The file.
        path: PathBuf,
    },
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            CertError::Line { path, line, reason } => {
                write!(f, "{}:{line}: {reason}", path.display())
            }
            CertError::Missing {
                path,
                key: "secret-key",
            } => write!(
                f,
                "{}: no secret-key in section `curve`: a public certificate? CURVE mode needs the secret one (czmq names it PATH_secret)",
                path.display()
            ),
            CertError::Missing { path, key } => write!(
                f,
                "{}: no {key} in section `curve` (not a czmq zcert certificate?)",
                path.display()
            ),
            CertError::Mismatch { path } => write!(
                f,
                "{}: secret-key and public-key are not one key pair",
                path.display()
            ),
            CertError::Keygen(err) if !crate::curve_available() => write!(
                f,
                "cannot make a CURVE key pair: this build has no CURVE (the `curve` feature is off): {err}"
            ),
            CertError::Keygen(err) => write!(f, "cannot make a CURVE key pair: {err}"),
        }
    }
}

impl std::error::Error for CertError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CertError::Io { source, .. } => Some(source),
            CertError::Keygen(err) => Some(err),
            _ => None,
        }
    }
}

/// A CURVE certificate: the public key, the secret key when loaded from a
/// secret file (or generated), and czmq's free-form `metadata` entries.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The 32-byte public key.
    pub public_key: CurveKey,
    /// The 32-byte secret key; `None` for a public certificate.
    pub secret_key: Option<CurveKey>,
    /// `metadata` section entries, in file order (czmq writes `name`, …).
    pub metadata: Vec<(String, String)>,
}

impl fmt::Debug for Certificate {
    // The secret key never goes into logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("public_key", &encode_z85(&self.public_key))
            .field("secret_key", &self.secret_key.map(|_| "…"))
            .field("metadata", &self.metadata)
            .finish()
    }
}

// libzmq's (4.2+), linked through the zmq crate; zmq-sys 0.12 does not
// re-export it.
unsafe extern "C" {
    fn zmq_curve_public(
        z85_public_key: *mut std::ffi::c_char,
        z85_secret_key: *const std::ffi::c_char,
    ) -> std::ffi::c_int;
}

/// The public key of `secret` (`zmq_curve_public`), or `None` where
/// libzmq cannot tell (a build without CURVE).
fn public_key_of(secret: &CurveKey) -> Option<CurveKey> {
    let secret_text = std::ffi::CString::new(encode_z85(secret)).ok()?;
    // 40 characters of Z85 and the NUL libzmq writes after them.
    let mut public_text = [0u8; 41];
    // SAFETY: both buffers are NUL-terminated Z85 of 40 characters (41
    // bytes), the sizes zmq_curve_public reads and writes.
    let rc = unsafe { zmq_curve_public(public_text.as_mut_ptr().cast(), secret_text.as_ptr()) };
    if rc != 0 {
        return None;
    }
    let text = std::str::from_utf8(&public_text[..40]).ok()?;
    decode_z85(text).ok()
}

impl Certificate {
    /// A new key pair from libzmq (`zmq_curve_keypair`, libsodium's
    /// random source). Drawn again while the public key starts with a 0
    /// byte, which Zyre 2.0.1 reads as "no key" in a beacon
    /// ([`zyre_reads_as_keyless`]).
    pub fn generate() -> Result<Certificate, CertError> {
        let pair = loop {
            let pair = zmq::CurveKeyPair::new().map_err(CertError::Keygen)?;
            if !zyre_reads_as_keyless(&pair.public_key) {
                break pair;
            }
        };
        Ok(Certificate {
            public_key: pair.public_key,
            secret_key: Some(pair.secret_key),
            metadata: Vec::new(),
        })
    }

    /// Loads a secret certificate (`PATH_secret` as czmq writes it): both
    /// keys must be there.
    pub fn load_secret(path: &Path) -> Result<Certificate, CertError> {
        let cert = Self::load(path)?;
        let Some(secret) = cert.secret_key else {
            return Err(CertError::Missing {
                path: path.to_owned(),
                key: "secret-key",
            });
        };
        // Checked where libzmq can (a build with CURVE): a pair that does
        // not match would start a node no peer can ever reach, silently.
        if public_key_of(&secret).is_some_and(|public| public != cert.public_key) {
            return Err(CertError::Mismatch {
                path: path.to_owned(),
            });
        }
        Ok(cert)
    }

    /// Loads a public (or secret) certificate file.
    pub fn load(path: &Path) -> Result<Certificate, CertError> {
        let text = fs::read(path).map_err(|source| CertError::Io {
            path: path.to_owned(),
            source,
        })?;
        let text = String::from_utf8(text).map_err(|err| {
            let at = err.utf8_error().valid_up_to();
            CertError::Line {
                path: path.to_owned(),
                line: 1 + err.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count(),
                reason: "not UTF-8 text".to_owned(),
            }
        })?;
        Self::parse(&text, path)
    }

    /// Parses certificate text; `path` is only for error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Certificate, CertError> {
        let mut public_key = None;
        let mut secret_key = None;
        let mut metadata = Vec::new();
        // The names of the enclosing sections, one per indentation level.
        let mut sections: Vec<String> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let bad = |reason: String| CertError::Line {
                path: path.to_owned(),
                line,
                reason,
            };
            let Some(entry) = zpl_line(raw).map_err(bad)? else {
                continue;
            };
            if entry.level > sections.len() {
                return Err(bad(format!(
                    "indented {} levels under {} section(s) (ZPL indents 4 spaces per level)",
                    entry.level,
                    sections.len()
                )));
            }
            sections.truncate(entry.level);
            let value = entry.value.unwrap_or_default();
            match (sections.first().map(String::as_str), entry.level, entry.name) {
                (Some("curve"), 1, "public-key") => {
                    public_key = Some(key_value(&value).map_err(|r| bad(format!("public-key: {r}")))?)
                }
                (Some("curve"), 1, "secret-key") => {
                    secret_key = Some(key_value(&value).map_err(|r| bad(format!("secret-key: {r}")))?)
                }
                (Some("metadata"), 1, name) => metadata.push((name.to_owned(), value)),
                _ => {}
            }
            sections.push(entry.name.to_owned());
        }
        let public_key = public_key.ok_or_else(|| CertError::Missing {
            path: path.to_owned(),
            key: "public-key",
        })?;
        Ok(Certificate {
            public_key,
            secret_key,
            metadata,
        })
    }

    /// The public file's text, as czmq's `zcert_save_public` writes it.
    pub fn public_text(&self) -> String {
        let mut text = String::from(
            "#   ****  Generated by zre  ****\n\
             #   ZeroMQ CURVE Public Certificate\n\
             #   Exchange securely, or use a secure mechanism to verify the contents\n\
             #   of this file after exchange. Store public certificates in your home\n\
             #   directory, in the .curve subdirectory.\n\n",
        );
        self.write_sections(&mut text, false);
        text
    }

    /// The secret file's text (both keys), as `zcert_save_secret` writes
    /// it; `None` for a public certificate.
    pub fn secret_text(&self) -> Option<String> {
        self.secret_key?;
        let mut text = String::from(
            "#   ****  Generated by zre  ****\n\
             #   ZeroMQ CURVE **Secret** Certificate\n\
             #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n\n",
        );
        self.write_sections(&mut text, true);
        Some(text)
    }

    fn write_sections(&self, text: &mut String, secret: bool) {
        text.push_str("metadata\n");
        for (name, value) in &self.metadata {
            // ZPL has no escapes: a value with `"` goes in single quotes
            // (one with both kinds cannot be written: its `"` become `'`).
            let line = if !value.contains('"') {
                format!("    {name} = \"{value}\"\n")
            } else if !value.contains('\'') {
                format!("    {name} = '{value}'\n")
            } else {
                format!("    {name} = \"{}\"\n", value.replace('"', "'"))
            };
            text.push_str(&line);
        }
        text.push_str("curve\n");
        text.push_str(&format!(
            "    public-key = \"{}\"\n",
            encode_z85(&self.public_key)
        ));
        if let (true, Some(key)) = (secret, &self.secret_key) {
            text.push_str(&format!("    secret-key = \"{}\"\n", encode_z85(key)));
        }
    }

    /// Writes `path` (public, mode 0644) and `path_secret` (mode 0600,
    /// created so: the secret is never readable by others, not even
    /// briefly), as `zcert_save` does. An existing file is replaced.
    pub fn save(&self, path: &Path) -> Result<(), CertError> {
        let secret = self.secret_text().ok_or_else(|| CertError::Missing {
            path: path.to_owned(),
            key: "secret-key",
        })?;
        // Said of the directory: the OS would name PATH_secret, a file the
        // user never typed.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
            return Err(CertError::Io {
                path: dir.to_owned(),
                source: io::Error::new(io::ErrorKind::NotFound, "no such directory"),
            });
        }
        write_file(&Certificate::secret_path(path), &secret, 0o600)?;
        write_file(path, &self.public_text(), 0o644)
    }

    /// `PATH_secret`: czmq's name for the secret file of certificate
    /// `PATH` (where [`Certificate::save`] writes the secret key).
    pub fn secret_path(path: &Path) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push("_secret");
        PathBuf::from(name)
    }
}

fn write_file(path: &Path, text: &str, mode: u32) -> Result<(), CertError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io_error = |source| CertError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(io_error)?;
    // A file that existed keeps its old mode through open(): set it.
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_error)?;
    file.write_all(text.as_bytes()).map_err(io_error)
}

/// A key's text: 40 characters of Z85, and not a small-order point (no
/// real key is one; libzmq would accept it and the handshake mean nothing).
fn key_value(text: &str) -> Result<CurveKey, String> {
    let key = decode_z85(text).map_err(|err| format!("{err} (expected 40 characters of Z85)"))?;
    if !is_usable_key(&key) {
        return Err("a degenerate key (a small-order Curve25519 point)".to_owned());
    }
    Ok(key)
}

/// One ZPL line that is not blank or a comment.
struct ZplEntry<'a> {
    /// Indentation in levels of 4 spaces.
    level: usize,
    name: &'a str,
    /// The value after `=`, unquoted; `None` for a section heading.
    value: Option<String>,
}

/// Reads one line of ZPL (RFC 4): `name`, `name = value`,
/// `name = "value"` or `name = 'value'`, indented 4 spaces per level,
/// with `#` comments. `Ok(None)` for a blank or comment line.
fn zpl_line(raw: &str) -> Result<Option<ZplEntry<'_>>, String> {
    let raw = raw.strip_suffix('\r').unwrap_or(raw);
    let body = raw.trim_start_matches(' ');
    let indent = raw.len() - body.len();
    if body.is_empty() || body.starts_with('#') {
        return Ok(None);
    }
    if body.starts_with('\t') {
        return Err("a tab in the indentation (ZPL indents with spaces)".to_owned());
    }
    if indent % 4 != 0 {
        return Err(format!("indented {indent} spaces, not a multiple of 4"));
    }
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || "$-_@.&+/".contains(c)))
        .unwrap_or(body.len());
    let name = &body[..name_len];
    if name.is_empty() {
        return Err(format!(
            "expected a name, found {:?}",
            body.chars().next().unwrap_or(' ')
        ));
    }
    let rest = body[name_len..].trim_start_matches([' ', '\t']);
    let value = if let Some(after) = rest.strip_prefix('=') {
        let after = after.trim_start_matches([' ', '\t']);
        let (value, tail) = match after.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let inner = &after[1..];
                let end = inner
                    .find(quote)
                    .ok_or_else(|| format!("{name}: value has no closing {quote}"))?;
                (&inner[..end], &inner[end + 1..])
            }
            _ => {
                let end = after.find([' ', '\t', '#']).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        check_tail(name, tail)?;
        Some(value.to_owned())
    } else {
        check_tail(name, rest)?;
        None
    };
    Ok(Some(ZplEntry {
        level: indent / 4,
        name,
        value,
    }))
}

/// After a name or value only blanks and a `#` comment may follow.
fn check_tail(name: &str, tail: &str) -> Result<(), String> {
    let tail = tail.trim_start_matches([' ', '\t']);
    if tail.is_empty() || tail.starts_with('#') {
        Ok(())
    } else {
        Err(format!("{name}: unexpected text {tail:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by czmq 4.2.1's `zcert_save` (Debian libczmq).
    const CZMQ_SECRET: &str = "#   ****  Generated on 2026-11-29 23:17:14 by CZMQ  ****
#   ZeroMQ CURVE **Secret** Certificate
#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

metadata
    name = \"alice\"
curve
    public-key = \"&w(&c@n&1tUGB+)OgQoMxWepOUQiVOU[%isJ.F!N\"
    secret-key = \"a:9ObfP2.X:sZYE[SLscmc{]1Y94uh68kN[Tz}.p\"
";

    fn parse(text: &str) -> Result<Certificate, CertError> {
        Certificate::parse(text, Path::new("c"))
    }

    #[test]
    fn reads_czmq_secret_certificates() {
        let cert = parse(CZMQ_SECRET).unwrap();
        assert_eq!(
            encode_z85(&cert.public_key),
            "&w(&c@n&1tUGB+)OgQoMxWepOUQiVOU[%isJ.F!N"
        );
        assert_eq!(
            encode_z85(&cert.secret_key.unwrap()),
            "a:9ObfP2.X:sZYE[SLscmc{]1Y94uh68kN[Tz}.p"
        );
        assert_eq!(cert.metadata, vec![("name".to_owned(), "alice".to_owned())]);
        let mut quoted = cert.clone();
        quoted.metadata.push(("note".to_owned(), "say \"hi\"".to_owned()));
        assert_eq!(parse(&quoted.secret_text().unwrap()).unwrap(), quoted);
        // Written back, it reads the same.
        assert_eq!(parse(&cert.secret_text().unwrap()).unwrap(), cert);
        let public = parse(&cert.public_text()).unwrap();
        assert_eq!(public.public_key, cert.public_key);
        assert_eq!(public.secret_key, None);
    }

    /// A secret file whose public key is not its secret key's, and a
    /// public file given where the secret one is needed, are refused with
    /// what is wrong (the pair is checked only where libzmq has CURVE).
    #[test]
    fn load_secret_refuses_a_mismatched_pair_and_a_public_file() {
        let dir = std::env::temp_dir().join(format!("zre-cert-{}", uuid::Uuid::new_v4().simple()));
        fs::create_dir(&dir).unwrap();
        let good = parse(CZMQ_SECRET).unwrap();
        good.save(&dir.join("alice")).unwrap();
        assert_eq!(Certificate::load_secret(&dir.join("alice_secret")).unwrap(), good);
        let public = Certificate::load_secret(&dir.join("alice")).unwrap_err();
        assert!(public.to_string().contains("public certificate?"), "{public}");
        let mut forged = good.clone();
        forged.public_key[0] ^= 1;
        forged.save(&dir.join("forged")).unwrap();
        let result = Certificate::load_secret(&dir.join("forged_secret"));
        if crate::curve_available() {
            assert!(matches!(result, Err(CertError::Mismatch { .. })), "{result:?}");
        } else {
            assert!(result.is_ok());
        }
        let nowhere = good.save(&dir.join("no-such-dir").join("x")).unwrap_err();
        assert_eq!(
            nowhere.to_string(),
            format!("{}: no such directory", dir.join("no-such-dir").display())
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_lines_are_named() {
        let line_of = |text: &str| match parse(text) {
            Err(CertError::Line { line, .. }) => line,
            other => panic!("{other:?}"),
        };
        let bad_key = CZMQ_SECRET.replace("&w(&c@n", "&w(&c@~");
        assert_eq!(line_of(&bad_key), 8);
        let short = CZMQ_SECRET.replace("a:9ObfP2.", "a:9");
        assert_eq!(line_of(&short), 9);
        assert_eq!(line_of("curve\n   public-key = x\n"), 2);
        assert_eq!(line_of("curve\n    public-key = \"abc\n"), 2);
        assert_eq!(line_of("curve\n\tpublic-key = x\n"), 2);
        assert_eq!(line_of("curve\n        public-key = x\n"), 2);
        assert_eq!(line_of("curve\n    = x\n"), 2);
        let zero = format!("curve\n    public-key = \"{}\"\n", encode_z85(&[0; 32]));
        assert_eq!(line_of(&zero), 2);
        assert!(matches!(
            parse("metadata\ncurve\n"),
            Err(CertError::Missing {
                key: "public-key",
                ..
            })
        ));
    }

    #[test]
    fn comments_and_unquoted_values() {
        let key = "&w(&c@n&1tUGB+)OgQoMxWepOUQiVOU[%isJ.F!N";
        let text = format!("# c\ncurve   # keys\n    public-key = {key}   # mine\n");
        assert_eq!(encode_z85(&parse(&text).unwrap().public_key), key);
    }
}
