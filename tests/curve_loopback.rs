//! CURVE (RFC 26) on loopback: the build, certificates, and nodes in CURVE
//! mode meeting on 127.255.255.255 with a private beacon port per test.

/// The libzmq inside the zmq crate is built with libsodium
/// (vendor/zmq-sys): without that it has no CURVE mechanism at all.
#[test]
fn libzmq_has_curve() {
    assert!(zmq::has("curve").unwrap_or(false), "libzmq built without CURVE");
    // A key pair works (libzmq answers ENOTSUP without CURVE).
    let pair = zmq::CurveKeyPair::new().expect("zmq_curve_keypair");
    assert_ne!(pair.public_key, pair.secret_key);
}
