//! Where a setting came from, and the errors of the loader: each names
//! its origin (file and line, environment variable or command line) and
//! the key.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A line of a configuration file.
    File {
        /// The file, as it was named.
        path: PathBuf,
        /// The line, counting from 1.
        line: usize,
    },
    /// An environment variable, such as `ZRENAME`.
    Env(&'static str),
    /// A command-line flag.
    CommandLine,
}

impl Origin {
    /// The file, for a setting read from a file.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Origin::File { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The line number, for a setting read from a file.
    pub fn line(&self) -> Option<usize> {
        match self {
            Origin::File { line, .. } => Some(*line),
            _ => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
            Origin::Env(var) => f.write_str(var),
            Origin::CommandLine => f.write_str("command line"),
        }
    }
}

/// What went wrong, for callers that react to it (the message says it to
/// people).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read (missing `ZRECFG` file, permissions...).
    Io,
    /// The file is not UTF-8.
    Encoding,
    /// A line that is neither `[section]` nor `key = value`.
    Malformed,
    /// A `key = value` line before any `[section]`.
    OutsideSection,
    /// A `[section]` that is not one of the [`Schema`](super::Schema)'s.
    UnknownSection,
    /// A key no applet knows.
    UnknownKey,
    /// An applet-only key in another applet's section (or set for an applet
    /// that does not use it).
    WrongSection,
    /// A non-repeatable key given twice in one section.
    DuplicateKey,
    /// A value of the wrong form.
    InvalidValue,
    /// An applet name the [`Schema`](super::Schema) does not know (a
    /// programming error).
    UnknownApplet,
}

/// What an error is about: nothing in particular, a whole file, or one
/// setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    /// Not about a file or a setting (an unknown applet).
    Nowhere,
    /// A whole file (it cannot be read).
    Path(PathBuf),
    /// One setting.
    At(Origin),
}

/// A configuration error. Its `Display` is one line:
/// `path:LINE: key 'KEY': message` (or `ZRENAME: ...`, `command line: ...`,
/// `path: message` for a file that cannot be read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    kind: ErrorKind,
    location: Location,
    key: Option<String>,
    message: String,
}

impl ConfigError {
    pub(crate) fn new(
        kind: ErrorKind,
        location: Location,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            kind,
            location,
            key: key.map(str::to_owned),
            message: message.into(),
        }
    }

    pub(crate) fn at(kind: ErrorKind, origin: Origin, key: Option<&str>, message: impl Into<String>) -> Self {
        Self::new(kind, Location::At(origin), key, message)
    }

    pub(crate) fn at_line(
        kind: ErrorKind,
        path: &Path,
        line: usize,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self::at(
            kind,
            Origin::File {
                path: path.to_path_buf(),
                line,
            },
            key,
            message,
        )
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file concerned, if any.
    pub fn path(&self) -> Option<&Path> {
        match &self.location {
            Location::Path(path) => Some(path),
            Location::At(origin) => origin.path(),
            Location::Nowhere => None,
        }
    }

    /// The line of the file, if the error is about one line.
    pub fn line(&self) -> Option<usize> {
        match &self.location {
            Location::At(origin) => origin.line(),
            _ => None,
        }
    }

    /// Where the faulty setting came from, if the error is about one.
    pub fn origin(&self) -> Option<&Origin> {
        match &self.location {
            Location::At(origin) => Some(origin),
            _ => None,
        }
    }

    /// The key as written, if the error is about one.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The message without the location and key.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Location::Nowhere => {}
            Location::Path(path) => write!(f, "{}: ", path.display())?,
            Location::At(origin) => write!(f, "{origin}: ")?,
        }
        if let Some(key) = &self.key {
            write!(f, "key '{key}': ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}
