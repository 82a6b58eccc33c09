//! `zre_rs._native`: the Rust node for Python. The Python modules
//! `zre_rs` (the pythonic API) and `zre_rs.pyre` (pyre's, drop-in) wrap it;
//! nothing here is meant to be used directly.

mod convert;
mod driver;
mod node;

use pyo3::prelude::*;

pyo3::create_exception!(
    zre_rs._native,
    ZreError,
    pyo3::exceptions::PyException,
    "Something a zre node could not do; the message is the Rust error's."
);
pyo3::create_exception!(
    zre_rs._native,
    ConfigError,
    ZreError,
    "A setting that cannot work (bad name, timeouts, interface, certificate ...), found before the node starts."
);
pyo3::create_exception!(
    zre_rs._native,
    CommandError,
    ZreError,
    "The node refused a command: an unknown peer, a bad group name."
);
pyo3::create_exception!(
    zre_rs._native,
    NodeStopped,
    CommandError,
    "The node has stopped (and, for recv, every event was taken)."
);

/// The Python exception for a Rust error, with the Rust error's message.
pub(crate) fn node_error(err: zre::NodeError) -> PyErr {
    use zre::NodeError as E;
    let message = err.to_string();
    match err {
        // The core's advice names Rust's API; a Python program raises its
        // own limit.
        E::Descriptors { limit, open, needed } => ZreError::new_err(format!(
            "{}: raise it (ulimit -n, or resource.setrlimit(resource.RLIMIT_NOFILE, ...) before the node starts)",
            E::descriptors_short(limit, open, needed)
        )),
        E::Config(_) | E::Interface(_) | E::Certificate(_) => ConfigError::new_err(message),
        E::Command(zre::CommandError::Stopped) => NodeStopped::new_err(message),
        E::Command(_) => CommandError::new_err(message),
        _ => ZreError::new_err(message),
    }
}

pub(crate) fn stopped() -> PyErr {
    NodeStopped::new_err(zre::CommandError::Stopped.to_string())
}

/// Whether this build's libzmq has CURVE (it is built with libsodium).
#[pyfunction]
fn curve_available() -> bool {
    zre::curve_available()
}

/// Generates a CURVE key pair and writes it as czmq does: `path` (the
/// public certificate) and `path_secret`; returns the public key in Z85.
#[pyfunction]
fn generate_certificate(py: Python<'_>, path: std::path::PathBuf) -> PyResult<String> {
    py.detach(move || {
        let cert = zre::Certificate::generate()?;
        cert.save(&path)?;
        Ok::<_, zre::CertError>(zre::Certificate::public_text(&cert))
    })
    .map_err(|err| ConfigError::new_err(err.to_string()))
    .map(|text| public_key_line(&text))
}

/// The public key (Z85) of a certificate file, public or secret.
#[pyfunction]
fn certificate_public_key(path: std::path::PathBuf) -> PyResult<String> {
    let cert = zre::Certificate::load(&path).map_err(|err| ConfigError::new_err(err.to_string()))?;
    Ok(public_key_line(&cert.public_text()))
}

/// The key out of the `public-key = "..."` line of a certificate's text.
fn public_key_line(text: &str) -> String {
    text.lines()
        .find_map(|line| {
            let (key, value) = line.trim().split_once('=')?;
            (key.trim() == "public-key").then(|| value.trim().trim_matches('"').to_owned())
        })
        .unwrap_or_default()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The core's warnings and errors to stderr (`RUST_LOG` as for the
    // tools: `RUST_LOG=zre=debug` for more, `RUST_LOG=off` for none).
    // Another logger already installed (an embedding Rust program's) wins.
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).try_init();
    let py = m.py();
    m.add("ZreError", py.get_type::<ZreError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("CommandError", py.get_type::<CommandError>())?;
    m.add("NodeStopped", py.get_type::<NodeStopped>())?;
    m.add("DEFAULT_BEACON_PORT", zre::defaults::DEFAULT_BEACON_PORT)?;
    m.add_function(wrap_pyfunction!(curve_available, m)?)?;
    m.add_function(wrap_pyfunction!(generate_certificate, m)?)?;
    m.add_function(wrap_pyfunction!(certificate_public_key, m)?)?;
    m.add_class::<node::NativeNode>()?;
    Ok(())
}
