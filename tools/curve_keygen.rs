//! `zre --curve-keygen PATH`: a new CURVE certificate in czmq's zcert
//! format, PATH (public) and PATH_secret (both keys, mode 0600), as
//! czmq's `zcert_save` writes them.

use crate::failure::{Failure, Outcome};
use std::path::Path;
use zre::Certificate;

/// Writes the pair and prints the public key (Z85). Refuses to replace an
/// existing file: a secret key overwritten is lost for good.
pub fn run(path: &Path) -> Outcome {
    let secret = Certificate::secret_path(path);
    for file in [path, secret.as_path()] {
        if file.symlink_metadata().is_ok() {
            return Err(Failure::new(format!(
                "{}: already exists (not replaced: remove it first)",
                file.display()
            )));
        }
    }
    let mut cert = Certificate::generate().map_err(|e| Failure::new(e.to_string()))?;
    cert.metadata
        .push(("created-by".to_owned(), "zre --curve-keygen".to_owned()));
    cert.save(path).map_err(|e| Failure::new(e.to_string()))?;
    println!(
        "{} (public), {} (secret): public key {}",
        path.display(),
        secret.display(),
        zre::wire::curve_key::encode_z85(&cert.public_key)
    );
    Ok(())
}
