//! The INI parser: `[section]` headers and `key = value` lines, checked
//! against a [`Schema`] as they are read (see the [module](super) docs for
//! the format).

use super::error::Origin;
use super::error::{ConfigError, ErrorKind};
use super::keys::Schema;
use super::settings::{Section, Settings, Value};
use std::collections::BTreeMap;
use std::path::Path;

impl Settings {
    /// Parses the text of a file named `path` (used in messages and
    /// origins) for `applet`, with no environment. Every section is
    /// checked, not only those `applet` reads.
    pub fn parse(
        schema: &'static Schema,
        text: &str,
        path: &Path,
        applet: &str,
    ) -> Result<Settings, ConfigError> {
        let applet = schema.applet(applet)?;
        let common = schema.common_section;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut sections: BTreeMap<&'static str, Section> = BTreeMap::new();
        let mut current: Option<&'static str> = None;
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            if let Some(header) = line.strip_prefix('[') {
                let name = header.strip_suffix(']').map(str::trim).ok_or_else(|| {
                    ConfigError::at_line(
                        ErrorKind::Malformed,
                        path,
                        line_no,
                        None,
                        format!("malformed section header \"{line}\" (expected [name])"),
                    )
                })?;
                let section = schema.section(name).ok_or_else(|| {
                    ConfigError::at_line(
                        ErrorKind::UnknownSection,
                        path,
                        line_no,
                        None,
                        format!(
                            "unknown section [{name}] (expected one of [{}])",
                            schema.applet_names().collect::<Vec<_>>().join("], [")
                        ),
                    )
                })?;
                current = Some(section);
                sections.entry(section).or_default();
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(ConfigError::at_line(
                    ErrorKind::Malformed,
                    path,
                    line_no,
                    None,
                    format!("malformed line \"{line}\" (expected key = value or [section])"),
                ));
            };
            let (key, value) = (key.trim(), value.trim());
            if key.is_empty() {
                return Err(ConfigError::at_line(
                    ErrorKind::Malformed,
                    path,
                    line_no,
                    None,
                    format!("malformed line \"{line}\": no key before '='"),
                ));
            }
            let error = |kind, message: String| ConfigError::at_line(kind, path, line_no, Some(key), message);
            let Some(section) = current else {
                return Err(error(
                    ErrorKind::OutsideSection,
                    format!("key outside any section (start the file with [{common}])"),
                ));
            };
            let Some((spec, owner)) = schema.key_spec(key) else {
                return Err(error(ErrorKind::UnknownKey, "unknown key".into()));
            };
            if section != common && !Schema::applies_to(owner, section) {
                let owner = owner.map_or(common, |owner| owner.name);
                return Err(error(
                    ErrorKind::WrongSection,
                    format!("not a key of [{section}] (it belongs in [{owner}] or [{common}])"),
                ));
            }
            if value.is_empty() {
                continue;
            }
            spec.kind
                .check(value)
                .map_err(|m| error(ErrorKind::InvalidValue, m))?;
            let values = sections.entry(section).or_default().entry(spec.key).or_default();
            if let (false, Some(first)) = (spec.repeatable, values.first()) {
                let at = first
                    .origin
                    .line()
                    .map_or(String::new(), |l| format!(" at line {l}"));
                return Err(error(
                    ErrorKind::DuplicateKey,
                    format!("duplicate key ('{}' already set{at} in [{section}])", spec.key),
                ));
            }
            values.push(Value {
                text: value.to_owned(),
                origin: Origin::File {
                    path: path.to_path_buf(),
                    line: line_no,
                },
            });
        }
        let mut values = Section::new();
        if let Some(common) = sections.remove(common) {
            values.extend(common.into_iter().filter(|(key, _)| {
                schema
                    .key_spec(key)
                    .is_some_and(|(_, owner)| Schema::applies_to(owner, applet.name))
            }));
        }
        if let Some(own) = sections.remove(applet.name) {
            values.extend(own);
        }
        Ok(Settings {
            schema,
            applet,
            file: Some(path.to_path_buf()),
            values,
        })
    }
}

/// Cuts a comment off a line: from a `#` or `;` that starts the line (after
/// blanks) or follows whitespace.
fn strip_comment(line: &str) -> &str {
    let mut previous_blank = true;
    for (i, c) in line.char_indices() {
        if (c == '#' || c == ';') && previous_blank {
            return &line[..i];
        }
        previous_blank = c.is_whitespace();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_need_whitespace_before_them() {
        assert_eq!(strip_comment("# all"), "");
        assert_eq!(strip_comment("  ; all"), "  ");
        assert_eq!(strip_comment("a = 30  # seconds"), "a = 30  ");
        assert_eq!(strip_comment("a = b\t;c"), "a = b\t");
        assert_eq!(strip_comment("a = b#c;d"), "a = b#c;d");
        assert_eq!(strip_comment("a = #"), "a = ");
    }
}
