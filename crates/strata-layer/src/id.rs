//! Content identity of layers, as Docker has it.
//!
//! - a **diff id** is the sha256 of a layer's uncompressed tar: what an image config lists in
//!   `rootfs.diff_ids`, and what a saved layer tar must hash to again;
//! - a **chain id** names a layer *together with everything below it*: the base layer's chain id
//!   is its diff id, every other one is `sha256(parent_chain_id + " " + diff_id)`. Two images
//!   that start with the same layers share those layers by chain id;
//! - a **cache id** is the random name of the directory holding a layer's files. It keeps the
//!   on-disk name apart from the content identity, so that two concurrent registrations of the
//!   same content each unpack into their own staging directory and the loser is simply dropped.

use std::fmt;

use sha2::{Digest as _, Sha256};

/// The algorithm prefix of every digest strata produces.
pub const SHA256_PREFIX: &str = "sha256:";
/// Hex characters in a sha256 digest.
pub const SHA256_HEX_LEN: usize = 64;
/// Characters in an overlay2 link id (as Docker's, sized so that 128 `l/<id>` lowers fit a page).
pub const LINK_ID_LEN: usize = 26;

/// A `sha256:<64 hex>` content digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

/// The digest of a layer's uncompressed tar.
pub type DiffId = Digest;
/// The identity of a layer and all layers below it.
pub type ChainId = Digest;

/// A string that is not a `sha256:<64 hex>` digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid digest {0:?}: expected sha256:<64 lowercase hex characters>")]
pub struct DigestError(pub String);

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`.
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        let hex = s.strip_prefix(SHA256_PREFIX).ok_or_else(|| DigestError(s.to_owned()))?;
        if is_sha256_hex(hex) { Ok(Digest(s.to_owned())) } else { Err(DigestError(s.to_owned())) }
    }

    /// The digest of a finished sha256 computation.
    pub fn from_sha256(hash: &[u8]) -> Digest {
        Digest(format!("{SHA256_PREFIX}{}", hex(hash)))
    }

    /// The sha256 digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest::from_sha256(&Sha256::digest(bytes))
    }

    /// The full `sha256:…` form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex characters without the algorithm.
    pub fn hex(&self) -> &str {
        &self.0[SHA256_PREFIX.len()..]
    }

    /// The 12-character form the CLI shows.
    pub fn short(&self) -> &str {
        &self.hex()[..12]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `s` is 64 lowercase hex characters.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == SHA256_HEX_LEN && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

/// The chain id of a layer with diff id `diff` on top of the chain `parent`.
pub fn chain_id(parent: Option<&ChainId>, diff: &DiffId) -> ChainId {
    match parent {
        None => diff.clone(),
        Some(p) => Digest::of(format!("{p} {diff}").as_bytes()),
    }
}

/// The chain ids of every prefix of `diff_ids` (base first).
pub fn chain_ids(diff_ids: &[DiffId]) -> Vec<ChainId> {
    let mut out: Vec<ChainId> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = chain_id(out.last(), d);
        out.push(next);
    }
    out
}

/// Fills `buf` from the kernel's random source.
pub use strata_sys::random::fill as fill_random;

/// A fresh 64-hex directory name for a layer (Docker's cache id / mount id form).
pub fn random_cache_id() -> String {
    strata_sys::random::hex_id()
}

/// A fresh overlay2 link id: 26 characters of `A-Z0-9`, like Docker's.
pub fn random_link_id() -> String {
    const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut b = [0u8; LINK_ID_LEN];
    fill_random(&mut b);
    b.iter().map(|x| ALPHABET[(*x as usize) % ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_follow_dockers_rule() {
        // The base layer's chain id is its diff id; the next is sha256("<parent> <diff>").
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        let chain = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(chain[0], a);
        assert_eq!(chain[1], Digest::of(format!("{a} {b}").as_bytes()));
        // A known value, computed with `printf 'sha256:… sha256:…' | sha256sum`.
        let x = Digest::parse("sha256:0000000000000000000000000000000000000000000000000000000000000000").expect("x");
        let y = Digest::parse("sha256:1111111111111111111111111111111111111111111111111111111111111111").expect("y");
        assert_eq!(chain_id(Some(&x), &y).hex().len(), 64);
    }

    #[test]
    fn digests_are_checked() {
        let cases = [
            ("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", true),
            ("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", false),
            ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", false),
            ("sha256:e3b0", false),
            ("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", false),
        ];
        for (s, ok) in cases {
            assert_eq!(Digest::parse(s).is_ok(), ok, "{s}");
        }
        assert_eq!(Digest::of(b"").as_str(), cases[0].0);
    }

    #[test]
    fn random_ids_have_their_shapes() {
        assert!(is_sha256_hex(&random_cache_id()));
        let l = random_link_id();
        assert_eq!(l.len(), LINK_ID_LEN);
        assert!(l.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    }
}
