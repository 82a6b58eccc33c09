//! Where the file comes from ([`Sources`]: `ZRECFG`, `/etc/zre.conf`,
//! `~/.zre.conf`, `ZRENAME`) and reading it.

use super::error::{ConfigError, ErrorKind, Location, Origin};
use super::keys::Schema;
use super::settings::Settings;
use std::io;
use std::path::{Path, PathBuf};

/// Where `Sources::from_env` looks first when `ZRECFG` is not set.
pub const ETC_CONFIG_PATH: &str = "/etc/zre.conf";
/// The file name looked for in `$HOME`.
pub const HOME_CONFIG_NAME: &str = ".zre.conf";

/// The environment the configuration is looked up in. [`Sources::from_env`]
/// reads the real one; tests build their own (`Sources::default()` is: no
/// file, no `ZRENAME`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// `ZRECFG`: the file to read; an error if it cannot be read.
    pub zrecfg: Option<PathBuf>,
    /// `ZRENAME`: overrides `name`. Empty means unset.
    pub zrename: Option<String>,
    /// `HOME`: `$HOME/.zre.conf` is tried after the system file.
    pub home: Option<PathBuf>,
    /// The system file, normally [`ETC_CONFIG_PATH`]; tried first.
    pub etc_path: Option<PathBuf>,
}

impl Sources {
    /// The real environment: `ZRECFG`, `ZRENAME`, `HOME` (each ignored when
    /// empty) and `/etc/zre.conf`. A `ZRENAME` that is not UTF-8 is
    /// converted lossily.
    pub fn from_env() -> Sources {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Sources {
            zrecfg: var("ZRECFG").map(PathBuf::from),
            zrename: var("ZRENAME").map(|v| v.to_string_lossy().into_owned()),
            home: var("HOME").map(PathBuf::from),
            etc_path: Some(PathBuf::from(ETC_CONFIG_PATH)),
        }
    }

    /// The file to read: `zrecfg` if set (whether or not it exists), else
    /// the first of `etc_path`, `home/.zre.conf` that exists, else `None`.
    /// A candidate whose existence cannot be checked (other than "not
    /// found") is an error rather than silently skipped.
    pub fn config_file(&self) -> Result<Option<PathBuf>, ConfigError> {
        if let Some(path) = &self.zrecfg {
            return Ok(Some(path.clone()));
        }
        let home = self.home.as_ref().map(|home| home.join(HOME_CONFIG_NAME));
        for candidate in self.etc_path.iter().chain(home.iter()) {
            match std::fs::metadata(candidate) {
                Ok(_) => return Ok(Some(candidate.clone())),
                Err(e) if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory => {
                }
                Err(e) => {
                    return Err(ConfigError::new(
                        ErrorKind::Io,
                        Location::Path(candidate.clone()),
                        None,
                        format!("cannot access config file: {e}"),
                    ));
                }
            }
        }
        Ok(None)
    }
}

impl Settings {
    /// Loads the settings of `applet` (of `schema`) from the real environment (see
    /// [`Sources::from_env`]).
    pub fn load(schema: &'static Schema, applet: &str) -> Result<Settings, ConfigError> {
        Self::load_with(schema, applet, &Sources::from_env())
    }

    /// Loads the settings of `applet` (of `schema`) from the file chosen by `sources`
    /// ([`Sources::config_file`]), then applies `ZRENAME`.
    pub fn load_with(
        schema: &'static Schema,
        applet: &str,
        sources: &Sources,
    ) -> Result<Settings, ConfigError> {
        let mut settings = Settings::new(schema, applet)?;
        if let Some(path) = sources.config_file()? {
            settings = Self::read(schema, &path, applet, sources.zrecfg.is_some())?;
        }
        if let Some(name) = sources.zrename.as_deref().filter(|n| !n.is_empty()) {
            settings.set("name", name, Origin::Env("ZRENAME"))?;
        }
        Ok(settings)
    }

    /// Reads and parses one file, with no environment.
    pub fn load_file(schema: &'static Schema, path: &Path, applet: &str) -> Result<Settings, ConfigError> {
        Self::read(schema, path, applet, false)
    }

    fn read(
        schema: &'static Schema,
        path: &Path,
        applet: &str,
        from_zrecfg: bool,
    ) -> Result<Settings, ConfigError> {
        schema.applet(applet)?;
        let bytes = std::fs::read(path).map_err(|e| {
            let named = if from_zrecfg { " (named by ZRECFG)" } else { "" };
            ConfigError::new(
                ErrorKind::Io,
                Location::Path(path.to_path_buf()),
                None,
                format!("cannot read config file{named}: {e}"),
            )
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + valid.iter().filter(|b| **b == b'\n').count();
            ConfigError::at_line(ErrorKind::Encoding, path, line, None, "not valid UTF-8")
        })?;
        Self::parse(schema, &text, path, applet)
    }
}
