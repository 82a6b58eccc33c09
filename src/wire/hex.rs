//! Bytes as hex digits, the one encoder: UUIDs as Zyre writes them (32
//! upper-case digits, `zuuid_str`), ZGossip client identities in the log,
//! binary frames in the tools' JSON.

use std::fmt;

/// Displays bytes as hex digits, two per byte: `{}` in lower case, `{:X}`
/// in upper case. Writes straight into the formatter (no `String`).
#[derive(Debug, Clone, Copy)]
pub struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::UpperHex for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02X}"))
    }
}

#[cfg(test)]
mod tests {
    use super::Hex;

    #[test]
    fn two_digits_per_byte_in_either_case() {
        assert_eq!(Hex(&[0x00, 0xab, 0x10]).to_string(), "00ab10");
        assert_eq!(format!("{:X}", Hex(&[0x00, 0xab, 0x10])), "00AB10");
        assert_eq!(Hex(&[]).to_string(), "");
    }
}
