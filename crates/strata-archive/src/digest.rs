//! The sha256 digest of a tar stream, in the forms the image world writes it.
//!
//! A layer's *diff id* is the sha256 of its uncompressed tar stream; manifests and configs write
//! it as `sha256:<hex>`, the layer store as a bare hex directory name. One type with both forms
//! keeps callers from formatting it by hand.

use std::fmt;

/// Length of a sha256 digest in bytes.
pub const SHA256_LEN: usize = 32;

/// A sha256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest(pub [u8; SHA256_LEN]);

impl Sha256Digest {
    /// The 64 lower-case hex digits.
    pub fn hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(SHA256_LEN * 2);
        for byte in self.0 {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        out
    }

    /// The `sha256:<hex>` form of OCI descriptors and Docker image configs.
    pub fn prefixed(&self) -> String {
        format!("sha256:{}", self.hex())
    }

    pub(crate) fn from_hasher(hasher: sha2::Sha256) -> Sha256Digest {
        use sha2::Digest;
        let mut out = [0u8; SHA256_LEN];
        out.copy_from_slice(&hasher.finalize());
        Sha256Digest(out)
    }
}

/// Displays as `sha256:<hex>`.
impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn empty_input_has_the_well_known_digest() {
        let digest = Sha256Digest::from_hasher(sha2::Sha256::new());
        assert_eq!(digest.hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(digest.to_string(), format!("sha256:{}", digest.hex()));
        assert_eq!(digest.prefixed(), digest.to_string());
    }
}
