//! CURVE (RFC 26) as Zyre 2.0.1 uses it: czmq's zcert certificate files
//! (`cert.rs`), the directory of allowed public keys (`allow_list.rs`) and
//! the node's ZAP 1.0 handler that consults it (`zap.rs`).

pub(crate) mod allow_list;
pub(crate) mod cert;
pub(crate) mod zap;
