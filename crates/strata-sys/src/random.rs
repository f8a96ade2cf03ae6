//! Fresh randomness from the kernel, for ids and names (container, exec, volume and layer ids,
//! generated container names). One place, so every id has the same source.

/// Fills `buf` from the kernel's random source (`getrandom(2)`).
///
/// # Panics
/// If `getrandom` fails: it cannot on a kernel strata supports once the pool is initialised, and
/// falling back to a weaker source would be worse than stopping.
pub fn fill(buf: &mut [u8]) {
    let mut filled = 0;
    while filled < buf.len() {
        match rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => panic!("getrandom failed: {e}"),
        }
    }
}

/// 64 lowercase hex characters (256 bits) of fresh randomness: Docker's id form, used for
/// containers, execs, anonymous volumes and layer directories.
pub fn hex_id() -> String {
    use std::fmt::Write;
    let mut b = [0u8; 32];
    fill(&mut b);
    b.iter().fold(String::with_capacity(64), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_ids_are_64_lowercase_hex_and_differ() {
        let (a, b) = (hex_id(), hex_id());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn fill_covers_a_buffer_larger_than_one_call() {
        let mut buf = vec![0u8; 1 << 20];
        fill(&mut buf);
        assert!(buf.iter().filter(|&&x| x == 0).count() < buf.len() / 64);
    }
}
