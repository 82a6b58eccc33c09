//! zmq-sys 0.12.0's build script, changed for zre: libzmq is built with
//! libsodium, so that it has CURVE (RFC 26). The crates.io build script
//! calls `with_libsodium(None)`, which leaves CURVE out.
//!
//! libsodium comes from the `libsodium-sys-stable` crate (a normal
//! dependency of this one). Its build script builds libsodium statically
//! from the tarball shipped inside the crate (its `fetch-latest` feature,
//! which downloads, stays off) and, through `links = "sodium"`, hands us
//! the header and library directories as DEP_SODIUM_INCLUDE and
//! DEP_SODIUM_LIB.

use std::env;
use std::path::PathBuf;

fn sodium_dir(var: &str) -> PathBuf {
    match env::var_os(var) {
        Some(dir) => PathBuf::from(dir),
        // (This crate is edition 2015: a one-argument panic! does not format.)
        None => panic!(
            "{} is not set: libsodium-sys-stable did not report where it built libsodium \
             (SODIUM_LIB_DIR without headers is not supported here; unset it)",
            var
        ),
    }
}

pub fn configure() {
    println!("cargo:rerun-if-changed=build/main.rs");
    println!("cargo:rerun-if-env-changed=PROFILE");
    println!("cargo:rerun-if-env-changed=ZRE_LIBZMQ_CURVE");

    // The `curve` feature (on by default) adds libsodium, unless
    // ZRE_LIBZMQ_CURVE=0 asks for the small build; without it libzmq is
    // built as crates.io's zmq-sys builds it. (A feature cannot be turned
    // off from zre: the `zmq` crate asks for the default ones.)
    let wanted = env::var_os("ZRE_LIBZMQ_CURVE").is_none_or(|v| v != "0");
    let sodium = if wanted && env::var_os("CARGO_FEATURE_CURVE").is_some() {
        let include = sodium_dir("DEP_SODIUM_INCLUDE");
        let lib = sodium_dir("DEP_SODIUM_LIB");
        Some(zeromq_src::LibLocation::new(lib, include))
    } else {
        None
    };
    zeromq_src::Build::new().with_libsodium(sodium).build();
}

fn main() {
    configure()
}
