//! `strata cp`: files between a container and the local filesystem, over the archive API
//! (`HEAD`/`GET`/`PUT /containers/{id}/archive`) the way the docker CLI uses it.
//!
//! The daemon only ever extracts into an existing directory and only ever sends a tar whose
//! top entry is the source's base name, so renaming ("copy `a` to `b`") is done here: going in,
//! the tar is built with the new name; coming out, the top entry is renamed while extracting.
//! Extraction never writes outside the destination: entries with `..` or absolute paths are
//! refused and parents are checked after symlinks are resolved.

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use bytes::Bytes;
use http::Method;
use http_body_util::BodyExt;
use serde_json::Value;
use strata_client::{Client, ClientError, encode};
use tokio::sync::mpsc;

/// Go's `os.ModeDir` bit in the stat header's `mode`.
const GO_MODE_DIR: u64 = 1 << 31;
/// Go's `os.ModeSymlink` bit.
const GO_MODE_SYMLINK: u64 = 1 << 27;
/// Chunks of an upload queued between the tar writer thread and the request.
const UPLOAD_QUEUE: usize = 8;

#[derive(Debug, clap::Args)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long)]
    archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long = "follow-link")]
    follow_link: bool,
    /// Suppress progress output during copy
    #[arg(short = 'q', long)]
    quiet: bool,
    /// SRC_PATH (CONTAINER:SRC_PATH or local, - for a tar on stdin)
    src: String,
    /// DEST_PATH (CONTAINER:DEST_PATH or local, - for a tar on stdout)
    dst: String,
}

/// One side of a copy.
#[derive(Debug, PartialEq, Eq)]
pub enum Location<'a> {
    Local(&'a str),
    Container { container: &'a str, path: &'a str },
}

/// Splits `container:path`; a path with a `/` before the first `:` (or starting with `.` or
/// `/`) is local, as docker reads it.
pub fn location(arg: &str) -> Location<'_> {
    if arg.starts_with('/') || arg.starts_with('.') {
        return Location::Local(arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.contains('/') && !c.is_empty() => Location::Container { container: c, path: p },
        _ => Location::Local(arg),
    }
}

/// The stat the daemon sends in `X-Docker-Container-Path-Stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStat {
    pub name: String,
    pub mode: u64,
    pub link_target: String,
}

impl PathStat {
    pub fn is_dir(&self) -> bool {
        self.mode & GO_MODE_DIR != 0
    }
}

/// Decodes the stat header (base64 of a JSON object).
pub fn parse_stat(header: &str) -> Option<PathStat> {
    let raw = base64_decode(header.trim())?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    Some(PathStat {
        name: v["name"].as_str().unwrap_or("").to_owned(),
        mode: v["mode"].as_u64().unwrap_or(0),
        link_target: v["linkTarget"].as_str().unwrap_or("").to_owned(),
    })
}

/// Standard base64 (with or without padding); `None` on any other character.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in s.bytes().filter(|b| *b != b'=') {
        let v = ALPHABET.iter().position(|a| *a == b)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn stat_of(resp: &http::Response<hyper::body::Incoming>) -> Option<PathStat> {
    resp.headers().get("X-Docker-Container-Path-Stat").and_then(|h| h.to_str().ok()).and_then(parse_stat)
}

pub async fn cp(client: &Client, a: CpArgs) -> anyhow::Result<ExitCode> {
    let result = match (location(&a.src), location(&a.dst)) {
        (Location::Container { container, path }, Location::Local(dst)) => {
            copy_from(client, container, path, dst, a.follow_link).await
        }
        (Location::Local(src), Location::Container { container, path }) => {
            copy_to(client, src, container, path, a.archive, a.follow_link).await
        }
        (Location::Local(_), Location::Local(_)) => Err("must specify at least one container source".to_owned()),
        (Location::Container { .. }, Location::Container { .. }) => {
            Err("copying between containers is not supported".to_owned())
        }
    };
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(m) => {
            eprintln!("{m}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn archive_path(container: &str, path: &str) -> String {
    format!("/containers/{}/archive?path={}", encode(container), encode(path))
}

/// The last element of a path, ignoring trailing slashes.
fn base_name(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/";
    }
    t.rsplit('/').next().unwrap_or(t)
}

/// Where a copy lands locally: the directory to extract into and the name the source's top
/// entry gets there (`None` keeps it), following docker's rules for existing directories,
/// new names and `/.` (contents of) sources.
pub fn local_destination(src: &str, src_is_dir: bool, dst: &str) -> Result<(PathBuf, Option<String>), String> {
    let dst_path = Path::new(dst);
    let contents_only = src.ends_with("/.");
    match std::fs::metadata(dst_path) {
        Ok(m) if m.is_dir() => {
            if contents_only {
                Ok((dst_path.to_path_buf(), Some(String::from("."))))
            } else {
                Ok((dst_path.to_path_buf(), None))
            }
        }
        Ok(_) => {
            if src_is_dir {
                return Err(format!("cannot copy directory to file: {dst}"));
            }
            let parent = dst_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            Ok((parent.to_path_buf(), Some(base_name(dst).to_owned())))
        }
        Err(_) => {
            if dst.ends_with('/') && !src_is_dir {
                return Err(format!("destination directory {dst} does not exist"));
            }
            let parent = dst_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if !parent.is_dir() {
                return Err(format!("lstat {}: no such file or directory", parent.display()));
            }
            Ok((parent.to_path_buf(), Some(base_name(dst).to_owned())))
        }
    }
}

/// `rel` with its top entry (the source's base name, or `.` for a `/.` source) replaced by
/// `rename` (`.` drops it: contents only). An empty path means the destination directory
/// itself; `None` is an entry that would leave the destination.
pub fn renamed(rel: &Path, rename: Option<&str>) -> Option<PathBuf> {
    let mut comps = rel.components();
    let top = match comps.next()? {
        Component::Normal(p) => p.to_owned(),
        Component::CurDir => ".".into(),
        _ => return None,
    };
    let mut out = PathBuf::new();
    match rename {
        Some(".") => {}
        Some(name) => out.push(name),
        None if top == "." => {}
        None => out.push(&top),
    }
    for c in comps {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

async fn copy_from(client: &Client, container: &str, path: &str, dst: &str, follow: bool) -> Result<(), String> {
    let mut path = path.to_owned();
    if follow {
        let resp = client
            .request(Method::HEAD, &archive_path(container, &path), None, None)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(stat) = stat_of(&resp)
            && stat.mode & GO_MODE_SYMLINK != 0
            && !stat.link_target.is_empty()
        {
            path = stat.link_target;
        }
    }
    let resp =
        client.request(Method::GET, &archive_path(container, &path), None, None).await.map_err(|e| e.to_string())?;
    let src_is_dir = stat_of(&resp).is_some_and(|s| s.is_dir());
    let body = resp.into_body();
    if dst == "-" {
        let mut body = body;
        let mut out = std::io::stdout().lock();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| e.to_string())?;
            if let Some(d) = frame.data_ref() {
                out.write_all(d).map_err(|e| e.to_string())?;
            }
        }
        return out.flush().map_err(|e| e.to_string());
    }
    let (dir, rename) = local_destination(&path, src_is_dir, dst)?;
    // The tar crate reads synchronously: feed it from a thread through a pipe of chunks.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Bytes>(UPLOAD_QUEUE);
    let extractor =
        std::thread::spawn(move || extract(ChannelReader { rx, chunk: Bytes::new() }, &dir, rename.as_deref()));
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| e.to_string())?;
        if let Ok(d) = frame.into_data()
            && tx.send(d).is_err()
        {
            break;
        }
    }
    drop(tx);
    extractor.join().map_err(|_| "extraction failed".to_owned())?
}

/// A blocking reader over chunks sent by the async side.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<Bytes>,
    chunk: Bytes,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.recv() {
                Ok(c) => self.chunk = c,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// Extracts a tar into `dir`, renaming the top entry; nothing lands outside `dir`.
fn extract(reader: impl std::io::Read, dir: &Path, rename: Option<&str>) -> Result<(), String> {
    let root = dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_overwrite(true);
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let rel = entry.path().map_err(|e| e.to_string())?.into_owned();
        let target_rel = renamed(&rel, rename).ok_or_else(|| format!("invalid path in archive: {}", rel.display()))?;
        if target_rel.as_os_str().is_empty() {
            continue; // the destination directory itself
        }
        let target = root.join(&target_rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
            let real = parent.canonicalize().map_err(|e| format!("{}: {e}", parent.display()))?;
            if !real.starts_with(&root) {
                return Err(format!("invalid path in archive: {}", rel.display()));
            }
        }
        if entry.header().entry_type().is_dir() && target.is_dir() {
            continue;
        }
        entry.unpack(&target).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

/// Writes to a channel of chunks (the tar builder's output, streamed as the request body).
struct ChannelWriter(mpsc::Sender<std::io::Result<Bytes>>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "upload ended"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn copy_to(
    client: &Client,
    src: &str,
    container: &str,
    dst: &str,
    archive: bool,
    follow: bool,
) -> Result<(), String> {
    let head = client.request(Method::HEAD, &archive_path(container, dst), None, None).await;
    let dst_stat = match head {
        Ok(resp) => stat_of(&resp),
        Err(e) if e.status() == Some(http::StatusCode::NOT_FOUND) => None,
        Err(e) => return Err(e.to_string()),
    };
    let mut query = format!("noOverwriteDirNonDir=true&path={}", encode(dst));
    if archive {
        query.push_str("&copyUIDGID=true");
    }
    if src == "-" {
        // A tar on stdin goes as is into an existing directory.
        if !dst_stat.as_ref().is_some_and(PathStat::is_dir) {
            return Err(format!("destination \"{container}:{dst}\" must be a directory"));
        }
        let body = crate::cmd::image::upload("-").await.map_err(|e| e.to_string())?;
        return put(client, container, &query, body).await;
    }
    let meta = if follow { std::fs::metadata(src) } else { std::fs::symlink_metadata(src) }
        .map_err(|_| format!("lstat {src}: no such file or directory"))?;
    let contents_only = src.ends_with("/.");
    let (dir, name) = match &dst_stat {
        Some(s) if s.is_dir() => (dst.to_owned(), if contents_only { None } else { Some(base_name(src).to_owned()) }),
        Some(_) if meta.is_dir() => return Err("cannot copy directory".to_owned()),
        Some(_) => (parent_of(dst), Some(base_name(dst).to_owned())),
        None if dst.ends_with('/') => return Err("no such directory".to_owned()),
        None => (parent_of(dst), Some(base_name(dst).to_owned())),
    };
    let query = {
        let mut q = format!("noOverwriteDirNonDir=true&path={}", encode(&dir));
        if archive {
            q.push_str("&copyUIDGID=true");
        }
        q
    };
    let (tx, rx) = mpsc::channel(UPLOAD_QUEUE);
    let src_path = PathBuf::from(src);
    let is_dir = meta.is_dir();
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut b = tar::Builder::new(ChannelWriter(tx));
        b.follow_symlinks(follow);
        match (&name, is_dir) {
            (Some(n), true) => b.append_dir_all(n, &src_path)?,
            (Some(n), false) => b.append_path_with_name(&src_path, n)?,
            (None, _) => b.append_dir_all(".", &src_path)?,
        }
        b.into_inner()?.flush()
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item.map(hyper::body::Frame::data), rx))
    });
    let body = http_body_util::StreamBody::new(stream).boxed_unsync();
    let sent = put(client, container, &query, body).await;
    let built = writer.join().map_err(|_| "archive failed".to_owned())?;
    sent?;
    built.map_err(|e| e.to_string())
}

fn parent_of(p: &str) -> String {
    match p.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) => "/".to_owned(),
        Some((parent, _)) => parent.to_owned(),
        None => ".".to_owned(),
    }
}

async fn put(client: &Client, container: &str, query: &str, body: strata_client::Body) -> Result<(), String> {
    let path = format!("/containers/{}/archive?{query}", encode(container));
    match client.request(Method::PUT, &path, Some("application/x-tar"), Some(body)).await {
        Ok(resp) => {
            let _ = resp.into_body().collect().await;
            Ok(())
        }
        Err(ClientError::Daemon { message, .. }) => Err(format!("Error response from daemon: {message}")),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_split_into_container_and_local_sides() {
        assert_eq!(location("c:/p"), Location::Container { container: "c", path: "/p" });
        assert_eq!(location("/abs:x"), Location::Local("/abs:x"));
        assert_eq!(location("./c:/p"), Location::Local("./c:/p"));
        assert_eq!(location("dir/c:/p"), Location::Local("dir/c:/p"));
        assert_eq!(location("-"), Location::Local("-"));
    }

    #[test]
    fn the_stat_header_decodes_go_modes() {
        // base64 of {"name":"mod","size":2,"mode":2147484141,"mtime":"2026-11-26T23:43:10Z","linkTarget":""}
        let json = r#"{"name":"mod","size":2,"mode":2147484141,"mtime":"2026-11-26T23:43:10Z","linkTarget":""}"#;
        let header = "eyJuYW1lIjoibW9kIiwic2l6ZSI6MiwibW9kZSI6MjE0NzQ4NDE0MSwibXRpbWUiOiIyMDI2LTExLTI2VDIzOjQzOjEwWiIsImxpbmtUYXJnZXQiOiIifQ==";
        assert_eq!(base64_decode(header).as_deref(), Some(json.as_bytes()));
        let s = parse_stat(header).expect("decodes");
        assert!(s.is_dir());
        assert_eq!(s.name, "mod");
        assert!(parse_stat("!!").is_none());
    }

    #[test]
    fn top_entries_are_renamed_and_escapes_refused() {
        assert_eq!(renamed(Path::new("d/x/y"), Some("new")), Some(PathBuf::from("new/x/y")));
        assert_eq!(renamed(Path::new("d/x"), None), Some(PathBuf::from("d/x")));
        assert_eq!(renamed(Path::new("d/x"), Some(".")), Some(PathBuf::from("x")));
        // A `/.` source: the daemon's top entry is `.`.
        assert_eq!(renamed(Path::new("./f"), Some("contents")), Some(PathBuf::from("contents/f")));
        assert_eq!(renamed(Path::new("./"), Some("contents")), Some(PathBuf::from("contents")));
        assert_eq!(renamed(Path::new("./sub/g"), None), Some(PathBuf::from("sub/g")));
        assert_eq!(renamed(Path::new("./"), Some(".")), Some(PathBuf::new()));
        assert_eq!(renamed(Path::new("../x"), None), None);
        assert_eq!(renamed(Path::new("/etc/x"), None), None);
        assert_eq!(parent_of("/a/b/"), "/a");
        assert_eq!(parent_of("/a"), "/");
        assert_eq!(base_name("/a/b/"), "b");
    }

    #[test]
    fn local_destinations_follow_dockers_rules() {
        let tmp = std::env::temp_dir().join(format!("strata-cp-test-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).expect("tmp");
        let d = tmp.to_str().expect("utf8");
        assert_eq!(local_destination("/etc/hosts", false, d), Ok((tmp.clone(), None)));
        assert_eq!(local_destination("/etc/.", true, d), Ok((tmp.clone(), Some(".".into()))));
        let new = format!("{d}/renamed");
        assert_eq!(local_destination("/etc/hosts", false, &new), Ok((tmp.clone(), Some("renamed".into()))));
        assert!(local_destination("/etc/hosts", false, &format!("{d}/nodir/")).is_err());
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
