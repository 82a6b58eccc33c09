//! The `zre` binary and its applets as processes (`CARGO_BIN_EXE_zre` is
//! set only for integration tests, so these stay here), and the
//! configuration file they read. One test binary.

#[cfg(feature = "tools")]
mod applets;
mod config;
mod summary;
// The tools' option table, shared with tools/main.rs.
#[path = "../../tools/schema.rs"]
mod schema;
