//! The merged settings of one applet, and how a command line sets them
//! over the file's.

use super::error::{ConfigError, ErrorKind, Origin};
use super::keys::{Applet, KeySpec, Schema};
use super::values::{parse_bool, parse_duration, parse_header};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// One value of a key, with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Value {
    pub(crate) text: String,
    pub(crate) origin: Origin,
}

/// The values of a section (or of the merged settings), by canonical key.
pub(crate) type Section = BTreeMap<&'static str, Vec<Value>>;

/// The settings of one applet, merged from the file's common section, its
/// applet section and `ZRENAME` (and the command line, through
/// [`Settings::set`]). Holds only what was set: the caller applies the
/// defaults ([`Settings::default_of`]; a node's are those of
/// [`NodeBuilder`](crate::NodeBuilder)). Keys are canonical; the getters also
/// accept aliases.
#[derive(Clone, Debug)]
pub struct Settings {
    pub(crate) schema: &'static Schema,
    pub(crate) applet: &'static Applet,
    pub(crate) file: Option<PathBuf>,
    pub(crate) values: Section,
}

/// Equal when they are for the same applet of the same schema and hold the
/// same values from the same origins.
impl PartialEq for Settings {
    fn eq(&self, other: &Settings) -> bool {
        std::ptr::eq(self.schema, other.schema)
            && self.applet.name == other.applet.name
            && self.file == other.file
            && self.values == other.values
    }
}

impl Eq for Settings {}

impl Settings {
    /// No settings at all (everything default), for `applet` of `schema`;
    /// an [`ErrorKind::UnknownApplet`] error if the schema has no such
    /// applet.
    pub fn new(schema: &'static Schema, applet: &str) -> Result<Settings, ConfigError> {
        Ok(Settings {
            schema,
            applet: schema.applet(applet)?,
            file: None,
            values: BTreeMap::new(),
        })
    }

    /// The key's spec, if it is a key of this applet; the error names the
    /// origin of the attempt to set it.
    fn own_spec(&self, key: &str, origin: &Origin) -> Result<&'static KeySpec, ConfigError> {
        let error = |kind, message: String| ConfigError::at(kind, origin.clone(), Some(key), message);
        let (spec, owner) = self
            .schema
            .key_spec(key)
            .ok_or_else(|| error(ErrorKind::UnknownKey, "unknown key".into()))?;
        if !Schema::applies_to(owner, self.applet.name) {
            return Err(error(
                ErrorKind::WrongSection,
                format!("not a setting of {}", self.applet.name),
            ));
        }
        Ok(spec)
    }

    /// Sets a key (or alias) to one value, replacing what the file said;
    /// for command-line flags (`Origin::CommandLine`). An empty value
    /// unsets the key. The value is checked like the file's.
    pub fn set(&mut self, key: &str, value: &str, origin: Origin) -> Result<(), ConfigError> {
        self.set_all(key, [value], origin)
    }

    /// Replaces the whole list of a key (or alias), as a repeatable flag
    /// would; empty values are skipped, and an empty list unsets the key.
    /// More than one value for a non-repeatable key is an error.
    pub fn set_all<I, S>(&mut self, key: &str, values: I, origin: Origin) -> Result<(), ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let error = |kind, message: String| ConfigError::at(kind, origin.clone(), Some(key), message);
        let spec = self.own_spec(key, &origin)?;
        let mut list = Vec::new();
        for value in values {
            let value = value.as_ref().trim();
            if value.is_empty() {
                continue;
            }
            spec.kind
                .check(value)
                .map_err(|m| error(ErrorKind::InvalidValue, m))?;
            list.push(Value {
                text: value.to_owned(),
                origin: origin.clone(),
            });
        }
        if !spec.repeatable && list.len() > 1 {
            return Err(error(ErrorKind::DuplicateKey, "given more than once".into()));
        }
        if list.is_empty() {
            self.values.remove(spec.key);
        } else {
            self.values.insert(spec.key, list);
        }
        Ok(())
    }

    /// Unsets a key (or alias), so that its default applies.
    pub fn unset(&mut self, key: &str) {
        if let Some(key) = self.schema.canonical_key(key) {
            self.values.remove(key);
        }
    }

    /// The applet these settings are for.
    pub fn applet(&self) -> &str {
        self.applet.name
    }

    /// The schema these settings follow.
    pub fn schema(&self) -> &'static Schema {
        self.schema
    }

    /// The built-in default of a key (or alias), as written in the file;
    /// `None` when it has none (see [`DefaultValue`](super::DefaultValue)).
    pub fn default_of(&self, key: &str) -> Option<String> {
        self.schema.default_of(key)
    }

    /// The value of a key, or its built-in default.
    pub fn get_or_default(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_owned).or_else(|| self.default_of(key))
    }

    /// The file the settings were read from, if any.
    pub fn source_file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    fn entries(&self, key: &str) -> &[Value] {
        self.schema
            .canonical_key(key)
            .and_then(|key| self.values.get(key))
            .map_or(&[], Vec::as_slice)
    }

    /// The value of a key (or alias): the last one for a repeatable key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries(key).last().map(|v| v.text.as_str())
    }

    /// All values of a key, in order (one at most for a non-repeatable key).
    pub fn get_all(&self, key: &str) -> Vec<&str> {
        self.entries(key).iter().map(|v| v.text.as_str()).collect()
    }

    /// Where the value returned by [`get`](Self::get) came from.
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.entries(key).last().map(|v| &v.origin)
    }

    /// Every value of a key with its origin, in order.
    pub fn get_all_with_origin(&self, key: &str) -> Vec<(&str, &Origin)> {
        self.entries(key)
            .iter()
            .map(|v| (v.text.as_str(), &v.origin))
            .collect()
    }

    /// Whether the key (or alias) is set.
    pub fn is_set(&self, key: &str) -> bool {
        !self.entries(key).is_empty()
    }

    /// The canonical keys that are set, in alphabetical order.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.values.keys().copied()
    }

    /// A duration key's value; `None` if unset (or not a duration).
    pub fn duration(&self, key: &str) -> Option<Duration> {
        self.get(key).and_then(|v| parse_duration(v).ok())
    }

    /// A boolean key's value; `None` if unset (or not a boolean).
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(|v| parse_bool(v).ok())
    }

    /// The value parsed as `T`; an error names the origin and the key.
    pub fn parsed<T>(&self, key: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.entries(key)
            .last()
            .map(|v| Self::parse_value(key, v))
            .transpose()
    }

    /// Every value parsed as `T`, in order; an error names the origin of
    /// the bad value and the key.
    pub fn parsed_all<T>(&self, key: &str) -> Result<Vec<T>, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.entries(key)
            .iter()
            .map(|v| Self::parse_value(key, v))
            .collect()
    }

    fn parse_value<T>(key: &str, value: &Value) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        value.text.parse::<T>().map_err(|e| {
            ConfigError::at(
                ErrorKind::InvalidValue,
                value.origin.clone(),
                Some(key),
                format!("invalid value \"{}\": {e}", value.text),
            )
        })
    }

    /// The `header` values as `(key, value)` pairs, in order.
    pub fn headers(&self) -> Vec<(&str, &str)> {
        self.get_all("header")
            .into_iter()
            .filter_map(|h| parse_header(h).ok())
            .collect()
    }
}

/// One `key = value  # origin` line per value: what `--show-config`
/// prints.
impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, values) in &self.values {
            for value in values {
                writeln!(f, "{key} = {}  # {}", value.text, value.origin)?;
            }
        }
        Ok(())
    }
}
