//! The terminal of a `-t` container or exec, as runc hands it over.
//!
//! With `"terminal": true` runc creates the pty inside the container (so its slave belongs to
//! the container's devpts) and sends the master to the daemon over a unix socket named with
//! `--console-socket`, as `SCM_RIGHTS` ancillary data. The daemon then owns the master: it reads
//! the container's output from it, writes attached stdin into it and resizes it (`TIOCSWINSZ`)
//! when the client's window changes. The connection is buffered by the kernel, so the socket
//! only needs to be listening while runc runs; it is accepted after `create` returns.

use std::io::{self, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// `sun_path` holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;
/// How long to wait for the runtime's connection once it has returned.
pub const CONSOLE_RECEIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Room for the data runc sends along with the fd (the pty's name).
const NAME_BUFFER: usize = 4096;

/// A terminal size, in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WinSize {
    pub rows: u16,
    pub cols: u16,
}

/// A listening console socket (`--console-socket`). The socket file is removed on drop.
#[derive(Debug)]
pub struct ConsoleSocket {
    listener: tokio::net::UnixListener,
    path: PathBuf,
}

impl ConsoleSocket {
    /// Listens on `path` (which must not exist). Needs a tokio runtime.
    pub fn bind(path: PathBuf) -> io::Result<ConsoleSocket> {
        if path.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("console socket path {} is longer than {MAX_SOCKET_PATH} bytes", path.display()),
            ));
        }
        let listener = tokio::net::UnixListener::bind(&path)?;
        Ok(ConsoleSocket { listener, path })
    }

    /// Where it listens.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accepts the runtime's connection and receives the pty master.
    pub async fn receive(self, timeout: Duration) -> io::Result<Pty> {
        let receive = async {
            let (stream, _) = self.listener.accept().await?;
            let mut name = [0u8; NAME_BUFFER];
            loop {
                stream.readable().await?;
                match stream.try_io(Interest::READABLE, || recv_fd(&stream, &mut name)) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    other => break other,
                }
            }
        };
        let master = tokio::time::timeout(timeout, receive)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the runtime never sent the terminal"))??;
        Pty::from_master(master)
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One `recvmsg` carrying an `SCM_RIGHTS` fd.
fn recv_fd(socket: &impl AsFd, name: &mut [u8]) -> io::Result<OwnedFd> {
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut iov = [IoSliceMut::new(name)];
    let msg = rustix::net::recvmsg(socket, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC | RecvFlags::DONTWAIT)?;
    let mut received = None;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = message {
            for fd in fds {
                // Keep the first; any further fd is dropped (closed) here.
                received.get_or_insert(fd);
            }
        }
    }
    received.ok_or_else(|| {
        let why = if msg.bytes == 0 { "closed the console socket" } else { "sent no file descriptor" };
        io::Error::new(io::ErrorKind::InvalidData, format!("the runtime {why}"))
    })
}

/// The master side of a container's pty. Shared (`Arc<Pty>`) by the output pump, the attached
/// stdin and resizes: reads, writes and resizes may run concurrently.
#[derive(Debug)]
pub struct Pty {
    master: AsyncFd<OwnedFd>,
}

impl Pty {
    /// Wraps a pty master fd (made non-blocking). Needs a tokio runtime.
    pub fn from_master(master: OwnedFd) -> io::Result<Pty> {
        rustix::io::ioctl_fionbio(&master, true)?;
        Ok(Pty { master: strata_sys::async_fd::register(master)? })
    }

    /// Sets the terminal size (`TIOCSWINSZ`); the container's foreground process gets `SIGWINCH`.
    pub fn resize(&self, size: WinSize) -> io::Result<()> {
        let ws = rustix::termios::Winsize { ws_row: size.rows, ws_col: size.cols, ws_xpixel: 0, ws_ypixel: 0 };
        rustix::termios::tcsetwinsize(self.master.get_ref(), ws)?;
        Ok(())
    }

    /// The current terminal size.
    pub fn size(&self) -> io::Result<WinSize> {
        let ws = rustix::termios::tcgetwinsize(self.master.get_ref())?;
        Ok(WinSize { rows: ws.ws_row, cols: ws.ws_col })
    }

    /// Reads output. Returns 0 at the end: once every slave fd is closed the master reports
    /// `EIO`, which is how a terminal says its processes are gone.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.master.readable().await?;
            match guard.try_io(|fd| rustix::io::read(fd.get_ref(), &mut *buf).map_err(io::Error::from)) {
                Ok(Ok(n)) => return Ok(n),
                Ok(Err(e)) if e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()) => return Ok(0),
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    /// Writes input; returns how much was written.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.master.writable().await?;
            match guard.try_io(|fd| rustix::io::write(fd.get_ref(), buf).map_err(io::Error::from)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    /// Writes all of `buf`.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.write(buf).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::OFlags;
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};

    /// What runc does on its side: connect, send the master with its name as data.
    fn send_like_runc(path: &Path, fd: &OwnedFd) {
        let stream = std::os::unix::net::UnixStream::connect(path).expect("connect");
        let fds = [fd.as_fd()];
        let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        assert!(control.push(SendAncillaryMessage::ScmRights(&fds)));
        rustix::net::sendmsg(&stream, &[io::IoSlice::new(b"/dev/pts/9")], &mut control, SendFlags::empty())
            .expect("sendmsg");
    }

    fn open_pty() -> (OwnedFd, OwnedFd) {
        let master =
            rustix::pty::openpt(rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY).expect("openpt");
        rustix::pty::grantpt(&master).expect("grantpt");
        rustix::pty::unlockpt(&master).expect("unlockpt");
        let name = rustix::pty::ptsname(&master, Vec::new()).expect("ptsname");
        let slave = rustix::fs::open(name.as_c_str(), OFlags::RDWR | OFlags::NOCTTY, rustix::fs::Mode::empty())
            .expect("open slave");
        (master, slave)
    }

    #[tokio::test]
    async fn the_master_arrives_over_the_socket_and_works() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.sock");
        let socket = ConsoleSocket::bind(path.clone()).expect("bind");
        let (master, slave) = open_pty();
        // Sent before accept, as runc does during `create`.
        send_like_runc(&path, &master);
        drop(master);
        let pty = socket.receive(Duration::from_secs(5)).await.expect("receive");
        assert!(!path.exists(), "socket file removed once received");

        pty.resize(WinSize { rows: 40, cols: 100 }).expect("resize");
        assert_eq!(pty.size().expect("size"), WinSize { rows: 40, cols: 100 });
        let ws = rustix::termios::tcgetwinsize(&slave).expect("slave size");
        assert_eq!((ws.ws_row, ws.ws_col), (40, 100));

        rustix::io::write(&slave, b"hello\n").expect("write slave");
        let mut buf = [0u8; 64];
        let n = pty.read(&mut buf).await.expect("read");
        assert_eq!(&buf[..n], b"hello\r\n", "the line discipline maps NL to CR NL");

        // Closing the last slave fd ends the output.
        drop(slave);
        let mut rest = Vec::new();
        loop {
            let n = pty.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            rest.extend_from_slice(&buf[..n]);
        }
        assert!(rest.is_empty(), "{rest:?}");
    }

    #[tokio::test]
    async fn a_connection_without_a_descriptor_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.sock");
        let socket = ConsoleSocket::bind(path.clone()).expect("bind");
        drop(std::os::unix::net::UnixStream::connect(&path).expect("connect"));
        let err = socket.receive(Duration::from_secs(5)).await.expect_err("no fd");
        assert!(err.to_string().contains("closed the console socket"), "{err}");
    }

    #[tokio::test]
    async fn nobody_connecting_times_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = ConsoleSocket::bind(dir.path().join("c.sock")).expect("bind");
        let err = socket.receive(Duration::from_millis(50)).await.expect_err("timeout");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn long_paths_are_refused_before_bind() {
        let long = PathBuf::from(format!("/tmp/{}", "x".repeat(120)));
        assert_eq!(ConsoleSocket::bind(long).expect_err("too long").kind(), io::ErrorKind::InvalidInput);
    }
}
