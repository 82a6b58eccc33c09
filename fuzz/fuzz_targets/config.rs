//! Any zre.conf text: loading never panics, and every error names the file
//! and a line that exists.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use zre::config::Settings;

// The tools' sections and keys, as the `zre` binary has them.
#[path = "../../tools/schema.rs"]
mod schema;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count().max(1);
    for applet in ["zre", "zrecat", "zgossip_server"] {
        if let Err(err) = Settings::parse(&schema::TOOLS, &text, Path::new("fuzz.conf"), applet) {
            let message = err.to_string();
            assert!(message.starts_with("fuzz.conf"), "{message}");
            if let Some(line) = err.line() {
                assert!(
                    line >= 1 && line <= lines + 1,
                    "line {line} of {lines}: {message}"
                );
            }
        }
    }
});
