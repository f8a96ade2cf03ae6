//! Registering an owned file descriptor with tokio's reactor.
//!
//! tokio 1.54 made `AsyncFd::new` deprecated and `AsyncFd::register` `unsafe`: the reactor keeps
//! the raw fd number, so the object must keep that very fd open until the `AsyncFd` is dropped.
//! An [`OwnedFd`] moved into the `AsyncFd` does exactly that, which is the one case the
//! daemon needs (a container's pty master, received over runc's console socket), so the
//! `unsafe` call is wrapped here once.

use std::io;
use std::os::fd::OwnedFd;

use tokio::io::unix::AsyncFd;

/// Registers `fd` for readiness events with the current tokio runtime (read and write
/// interest). The fd should be non-blocking. Must be called within a tokio runtime.
pub fn register(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: the AsyncFd takes ownership of the OwnedFd, which keeps the descriptor open and
    // always returns the same number from as_raw_fd until it is dropped together with the
    // AsyncFd (or handed back by into_inner); nothing else can close it meanwhile.
    let registered = unsafe { AsyncFd::register(fd) };
    registered.map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pipe_becomes_readable() {
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::NONBLOCK | rustix::pipe::PipeFlags::CLOEXEC)
            .expect("pipe");
        let afd = register(r).expect("register");
        rustix::io::write(&w, b"x").expect("write");
        let mut guard = afd.readable().await.expect("readable");
        let mut buf = [0u8; 4];
        let n = guard.try_io(|fd| Ok(rustix::io::read(fd.get_ref(), &mut buf)?)).expect("ready").expect("read");
        assert_eq!(&buf[..n], b"x");
    }
}
