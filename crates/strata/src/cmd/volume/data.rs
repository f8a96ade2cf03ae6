//! `strata volume export|import|clone|backup|restore|backups`: data in and out of volumes.
//!
//! The daemon does the volume work (it can pause writers, and it owns the data-root); the CLI
//! moves streams between the API and files. Backups go to a directory in the format of
//! [`strata_backup`]: the data file is written as `.partial`, checked against the manifest that
//! ends the daemon's stream (sha256 and length), then the manifest is written last — so an
//! interrupted backup never looks complete.
//!
//! Import, restore and clone ask the daemon for JSON progress lines (`?progress=1`) and draw
//! them as a bar on a terminal; export and backup count the bytes they receive. Off a terminal
//! nothing is drawn and the commands print what they always printed.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use futures_util::StreamExt;
use http::Method;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sha2::Digest;
use strata_backup::{dir, frame, retention};
use strata_client::{Client, ClientError, encode};

use super::s3::{self, S3Dest, S3Flags};
use crate::progress::Bar;
use crate::units::human_size;

/// Size of the chunks read from files for uploads.
const UPLOAD_CHUNK: usize = 1 << 20;
/// Mode of a backup directory `volume backup --to` creates.
const BACKUP_DIR_MODE: u32 = 0o700;
/// The media type of a backup stream (as the daemon names it).
const BACKUP_MEDIA_TYPE: &str = "application/vnd.strata.volume-backup";

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Volume to export
    volume: String,
    /// Write to a file instead of STDOUT
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Volume to fill (created when missing)
    volume: String,
    /// Tar archive (plain, gzip or zstd), or - for STDIN
    source: String,
    /// Replace the contents of a volume that is not empty
    #[arg(short = 'f', long = "force")]
    force: bool,
}

#[derive(Debug, clap::Args)]
pub struct CloneArgs {
    /// Volume to copy
    source: String,
    /// Name of the new volume
    target: String,
}

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Volumes to back up
    volumes: Vec<String>,
    /// Where to write the backups: a directory (created, mode 0700, when missing) or s3://bucket/prefix
    #[arg(long = "to", value_name = "DEST")]
    to: String,
    /// Back up every volume
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Do not pause the containers writing to a volume while it is read
    #[arg(long = "no-pause")]
    no_pause: bool,
    #[command(flatten)]
    s3: S3Flags,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup: its .tar.zst or .manifest.json file (or s3:// object)
    backup: String,
    /// Restore into a volume of this name instead of the backed-up volume's
    #[arg(long = "name")]
    name: Option<String>,
    /// Replace the contents of an existing volume, even one in use
    #[arg(short = 'f', long = "force")]
    force: bool,
    #[command(flatten)]
    s3: S3Flags,
}

#[derive(Debug, clap::Subcommand)]
pub enum BackupsCommand {
    /// List the backups in a directory
    Ls(BackupsLsArgs),
    /// Delete old backups from a directory (never a volume's last one unless --force)
    Prune(BackupsPruneArgs),
}

#[derive(Debug, clap::Args)]
pub struct BackupsLsArgs {
    /// Directory of backups, or s3://bucket/prefix
    dest: String,
    /// Only the backups of this volume
    #[arg(long = "volume")]
    volume: Option<String>,
    /// Output format: 'table' (default) or 'json' (one manifest per line)
    #[arg(long = "format")]
    format: Option<String>,
    #[command(flatten)]
    s3: S3Flags,
}

#[derive(Debug, clap::Args)]
pub struct BackupsPruneArgs {
    /// Directory of backups, or s3://bucket/prefix
    dest: String,
    /// Keep the N newest backups of each volume
    #[arg(long = "keep-last", value_name = "N")]
    keep_last: Option<usize>,
    /// Keep backups younger than this (e.g. 7d, 12h)
    #[arg(long = "keep-within", value_name = "DURATION", value_parser = parse_duration)]
    keep_within: Option<Duration>,
    /// Only prune the backups of this volume
    #[arg(long = "volume")]
    volume: Option<String>,
    /// Allow deleting the last backup of a volume
    #[arg(short = 'f', long = "force")]
    force: bool,
    /// Print what would be deleted without deleting it
    #[arg(long = "dry-run")]
    dry_run: bool,
    #[command(flatten)]
    s3: S3Flags,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

/// A body streamed from `prefix` and then a file (or stdin).
async fn upload(prefix: Vec<u8>, source: &Path) -> anyhow::Result<strata_client::Body> {
    use tokio::io::AsyncReadExt;
    let path = if source == Path::new("-") { Path::new("/dev/stdin") } else { source };
    let reader = tokio::fs::File::open(path).await.with_context(|| format!("open {}", source.display()))?;
    let file = futures_util::stream::unfold(reader, |mut r| async move {
        let mut buf = vec![0u8; UPLOAD_CHUNK];
        match r.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), r))
            }
            Err(e) => Some((Err(e), r)),
        }
    });
    Ok(body_of(prefix, file.boxed()))
}

/// A body of `prefix`, then `rest`.
fn body_of(
    prefix: Vec<u8>,
    rest: futures_util::stream::BoxStream<'static, std::io::Result<Bytes>>,
) -> strata_client::Body {
    let head = futures_util::stream::iter((!prefix.is_empty()).then(|| Ok(Bytes::from(prefix))));
    let frames = head.chain(rest).map(|r| r.map(hyper::body::Frame::data));
    http_body_util::StreamBody::new(frames).boxed_unsync()
}

/// A rate for humans.
fn rate(bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    format!("{}/s", human_size(bytes as f64 / secs))
}

pub async fn export(client: &Client, a: ExportArgs) -> anyhow::Result<ExitCode> {
    if a.output.is_none() && std::io::stdout().is_terminal() {
        bail!("cowardly refusing to write a tar archive to a terminal. Use the -o flag or redirect");
    }
    let resp = client.request(Method::GET, &format!("/volumes/{}/export", encode(&a.volume)), None, None).await?;
    // Into a temporary file next to the target, renamed when complete: a cut stream leaves no
    // file that looks like an export.
    let (mut out, tmp): (Box<dyn Write>, Option<PathBuf>) = match &a.output {
        Some(path) => {
            let tmp = path.with_extension("partial");
            let f = std::fs::File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
            (Box::new(std::io::BufWriter::new(f)), Some(tmp))
        }
        None => (Box::new(std::io::stdout().lock()), None),
    };
    let mut body = resp.into_body();
    let mut bar = Bar::new(&a.volume, "Exporting", None);
    let result: anyhow::Result<()> = async {
        let mut total = 0u64;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| anyhow::anyhow!("export {}: the stream was cut: {e}", a.volume))?;
            if let Some(data) = frame.data_ref() {
                out.write_all(data)?;
                total += data.len() as u64;
                bar.update("Exporting", total, None);
            }
        }
        out.flush()?;
        Ok(())
    }
    .await;
    bar.clear();
    drop(out);
    match (result, tmp, &a.output) {
        (Ok(()), Some(tmp), Some(path)) => std::fs::rename(&tmp, path)?,
        (Err(e), Some(tmp), _) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        (r, _, _) => r?,
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn import(client: &Client, a: ImportArgs) -> anyhow::Result<ExitCode> {
    if a.source == "-" && std::io::stdin().is_terminal() {
        bail!("requested import from stdin, but stdin is a terminal");
    }
    // The length of a regular file goes along, so the daemon can report progress out of it.
    let len = (a.source != "-")
        .then(|| std::fs::metadata(&a.source).ok())
        .flatten()
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len());
    let body = upload(Vec::new(), Path::new(&a.source)).await?;
    let force = if a.force { "&force=1" } else { "" };
    let path = format!("/volumes/{}/import?progress=1{force}", encode(&a.volume));
    let len_header = len.map(|n| n.to_string());
    let headers: Vec<(http::header::HeaderName, &str)> =
        len_header.iter().map(|n| (http::header::CONTENT_LENGTH, n.as_str())).collect();
    let resp = client.request_with(Method::POST, &path, Some("application/x-tar"), Some(body), &headers).await?;
    let mut bar = Bar::new(&a.volume, "Importing", len);
    follow_progress(resp, &mut bar).await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn clone(client: &Client, a: CloneArgs) -> anyhow::Result<ExitCode> {
    let path = format!("/volumes/{}/clone?to={}&progress=1", encode(&a.source), encode(&a.target));
    let resp = client.request(Method::POST, &path, None, None).await?;
    let mut bar = Bar::new(&a.target, "Cloning", None);
    let v = follow_progress(resp, &mut bar).await?;
    println!("{}", v["Name"].as_str().unwrap_or(&a.target));
    Ok(ExitCode::SUCCESS)
}

/// Reads the daemon's JSON progress lines (`?progress=1`) into `bar` and returns the answer of
/// the last line (its `aux`); an error line becomes the error the request would have had
/// without progress.
async fn follow_progress(resp: http::Response<hyper::body::Incoming>, bar: &mut Bar) -> anyhow::Result<Value> {
    let mut body = resp.into_body();
    let mut pending: Vec<u8> = Vec::new();
    let mut answer = None;
    let mut failed = None;
    let mut handle = |line: &[u8]| -> anyhow::Result<()> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let v: Value = serde_json::from_slice(line).context("the daemon sent a progress line that is not JSON")?;
        if let Some(message) = v["error"].as_str() {
            let status = v["errorDetail"]["code"]
                .as_u64()
                .and_then(|c| http::StatusCode::from_u16(u16::try_from(c).ok()?).ok())
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
            failed = Some(ClientError::Daemon { status, message: message.to_owned() });
        } else if let Some(aux) = v.get("aux") {
            answer = Some(aux.clone());
        } else if let Some(stage) = v["status"].as_str() {
            let detail = &v["progressDetail"];
            match detail["current"].as_u64() {
                Some(current) => bar.update(stage, current, detail["total"].as_u64()),
                None => bar.status(stage),
            }
        }
        Ok(())
    };
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| anyhow::anyhow!("the daemon's answer was cut: {e}"))?;
        let Some(data) = frame.data_ref() else { continue };
        pending.extend_from_slice(data);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            handle(&line)?;
        }
    }
    handle(&pending)?;
    bar.clear();
    if let Some(e) = failed {
        return Err(e.into());
    }
    answer.ok_or_else(|| anyhow::anyhow!("the daemon's answer ended before the result"))
}

pub async fn backup(client: &Client, a: BackupArgs) -> anyhow::Result<ExitCode> {
    let mut names = a.volumes.clone();
    if a.all {
        let list: Value = client.get_json("/volumes").await?;
        names.extend(
            list["Volumes"].as_array().into_iter().flatten().filter_map(|v| v["Name"].as_str()).map(str::to_owned),
        );
    } else if names.is_empty() {
        bail!("'strata volume backup' requires at least 1 volume or --all");
    }
    let dest = Dest::open_or_create(&a.to, &a.s3)?;
    let mut failed = false;
    for name in &names {
        match dest.backup(client, name, !a.no_pause).await {
            Ok(location) => println!("{location}"),
            Err(e) => {
                failed = true;
                eprintln!("backup {name}: {e:#}");
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Where backups are kept.
enum Dest {
    Dir(PathBuf),
    S3(S3Dest),
}

/// Where the data of a backup being received goes.
enum Sink {
    Dir(dir::Pending),
    S3(s3::Upload),
}

impl Sink {
    async fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        match self {
            Sink::Dir(p) => p.file().write_all(data).context("write the backup"),
            Sink::S3(u) => u.write(data).await,
        }
    }
}

impl Dest {
    fn open(dest: &str, flags: &S3Flags) -> anyhow::Result<Dest> {
        if dest.starts_with("s3://") {
            return Ok(Dest::S3(S3Dest::open(dest, flags)?));
        }
        let path = PathBuf::from(dest);
        if !path.is_dir() {
            bail!("backup destination {dest} is not a directory");
        }
        Ok(Dest::Dir(path))
    }

    /// Like [`Dest::open`], but a directory that does not exist yet is created (with its
    /// missing parents), private to its owner (0700): backups hold all of a volume's data.
    fn open_or_create(dest: &str, flags: &S3Flags) -> anyhow::Result<Dest> {
        if !dest.starts_with("s3://") && !Path::new(dest).exists() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(BACKUP_DIR_MODE)
                .create(dest)
                .with_context(|| format!("create the backup directory {dest}"))?;
        }
        Dest::open(dest, flags)
    }

    /// Backs `name` up; returns where the data went.
    async fn backup(&self, client: &Client, name: &str, pause: bool) -> anyhow::Result<String> {
        let started = Instant::now();
        let (location, manifest) = match self {
            Dest::Dir(dir) => {
                let id = dir::new_id(dir, name, now_secs());
                let mut sink = Sink::Dir(dir::Pending::create(dir, &id)?);
                // On an error the pending file is dropped, which deletes it.
                let (manifest, data_len) = receive(client, name, pause, &mut sink).await?;
                let Sink::Dir(pending) = sink else { unreachable!("a directory sink") };
                let b = pending.commit(data_len, &manifest)?;
                (b.data.display().to_string(), manifest)
            }
            Dest::S3(s3) => {
                let id = s3.new_id(name, now_secs()).await?;
                let mut sink = Sink::S3(s3.upload(&id).await?);
                let received = receive(client, name, pause, &mut sink).await;
                let Sink::S3(upload) = sink else { unreachable!("an S3 sink") };
                let manifest = match received {
                    Ok((m, _)) => m,
                    Err(e) => {
                        upload.abort().await;
                        return Err(e);
                    }
                };
                upload.finish().await?;
                s3.put_manifest(&id, &manifest).await?;
                (s3.data_url(&id), manifest)
            }
        };
        let elapsed = started.elapsed();
        eprintln!(
            "{name}: {} of data ({} entries) in {:.1}s ({}), stored as {}",
            human_size(manifest.bytes as f64),
            manifest.entries,
            elapsed.as_secs_f64(),
            rate(manifest.bytes, elapsed),
            human_size(manifest.stored_bytes as f64),
        );
        Ok(location)
    }

    /// The complete backups: (id, where, manifest).
    async fn list(&self) -> anyhow::Result<Vec<(String, String, strata_backup::Manifest)>> {
        match self {
            Dest::Dir(dir) => {
                let (found, bad) = dir::list(dir)?;
                for e in bad {
                    eprintln!("warning: {e}");
                }
                Ok(found.into_iter().map(|b| (b.id, b.data.display().to_string(), b.manifest)).collect())
            }
            Dest::S3(s3) => Ok(s3.list().await?.into_iter().map(|(id, m)| (id.clone(), s3.data_url(&id), m)).collect()),
        }
    }

    async fn remove(&self, id: &str) -> anyhow::Result<()> {
        match self {
            Dest::Dir(dir) => Ok(dir::remove(&dir::open(dir, id)?)?),
            Dest::S3(s3) => s3.remove(id).await,
        }
    }
}

/// Receives the daemon's backup stream of `name` into `sink`: the data is written as it
/// arrives, except the last [`frame::MAX_FRAME`] bytes, held back until the stream ends and the
/// manifest frame is split off them. The data's sha256 and length are checked against the
/// manifest. Returns the manifest and the data's length.
async fn receive(
    client: &Client,
    name: &str,
    pause: bool,
    sink: &mut Sink,
) -> anyhow::Result<(strata_backup::Manifest, u64)> {
    let path = format!("/volumes/{}/backup?pause={}", encode(name), u8::from(pause));
    let resp = client.request(Method::POST, &path, None, None).await?;
    let mut body = resp.into_body();
    let mut hasher = sha2::Sha256::new();
    let mut tail: Vec<u8> = Vec::with_capacity(2 * frame::MAX_FRAME);
    let mut total = 0u64;
    let mut bar = Bar::new(name, "Backing up", None);
    while let Some(f) = body.frame().await {
        let f = f.map_err(|e| anyhow::anyhow!("the daemon's stream was cut: {e}"))?;
        let Some(data) = f.data_ref() else { continue };
        total += data.len() as u64;
        bar.update("Backing up", total, None);
        tail.extend_from_slice(data);
        if tail.len() > 2 * frame::MAX_FRAME {
            let cut = tail.len() - frame::MAX_FRAME;
            hasher.update(&tail[..cut]);
            sink.write(&tail[..cut]).await?;
            tail.drain(..cut);
        }
    }
    bar.clear();
    let (data_in_tail, manifest) = frame::split_trailing(&tail)?;
    hasher.update(&tail[..data_in_tail]);
    sink.write(&tail[..data_in_tail]).await?;
    let data_len = total - (tail.len() - data_in_tail) as u64;
    let sha: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    if sha != manifest.sha256 || data_len != manifest.stored_bytes {
        bail!("the data received does not match its manifest (sha256 {sha}, {data_len} bytes)");
    }
    Ok((manifest, data_len))
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

pub async fn restore(client: &Client, a: RestoreArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (id, volume, body) = if a.backup.starts_with("s3://") {
        let Some((dest, id)) = s3::split_backup_url(&a.backup) else {
            bail!("{}: name the .tar.zst or .manifest.json object of a backup", a.backup);
        };
        let s3 = S3Dest::open(&dest, &a.s3)?;
        let manifest = s3.manifest(&id).await?;
        let data = s3.data(&id).await?.map(|r| r.map_err(std::io::Error::other)).boxed();
        (id, manifest.volume.clone(), body_of(frame::encode(&manifest), data))
    } else {
        let b = dir::find(Path::new(&a.backup))?;
        let body = upload(frame::encode(&b.manifest), &b.data).await?;
        (b.id, b.manifest.volume, body)
    };
    // The target is always named, so the daemon can refuse (not empty, in use) before the
    // upload.
    let target = a.name.as_deref().unwrap_or(&volume);
    let mut q = vec![format!("name={}", encode(target)), "progress=1".to_owned()];
    if a.force {
        q.push("force=1".to_owned());
    }
    let path = format!("/volumes/restore?{}", q.join("&"));
    let resp = client.request(Method::POST, &path, Some(BACKUP_MEDIA_TYPE), Some(body)).await?;
    let mut bar = Bar::new(target, "Restoring", None);
    let answer = follow_progress(resp, &mut bar).await?;
    let name = answer["Volume"]["Name"].as_str().unwrap_or("");
    println!("{name}");
    let bytes = answer["Size"].as_u64().unwrap_or(0);
    let elapsed = started.elapsed();
    eprintln!(
        "{name}: restored {} ({} entries) from {id} in {:.1}s ({}), checksum verified",
        human_size(bytes as f64),
        answer["Entries"],
        elapsed.as_secs_f64(),
        rate(bytes, elapsed)
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn backups(cmd: BackupsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BackupsCommand::Ls(a) => backups_ls(a).await,
        BackupsCommand::Prune(a) => backups_prune(a).await,
    }
}

async fn listed(dest: &Dest, volume: Option<&str>) -> anyhow::Result<Vec<(String, String, strata_backup::Manifest)>> {
    Ok(dest.list().await?.into_iter().filter(|(_, _, m)| volume.is_none_or(|v| m.volume == v)).collect())
}

async fn backups_ls(a: BackupsLsArgs) -> anyhow::Result<ExitCode> {
    let dest = Dest::open(&a.dest, &a.s3)?;
    let found = listed(&dest, a.volume.as_deref()).await?;
    let mut out = String::new();
    match a.format.as_deref() {
        Some("json") => {
            for (id, location, m) in &found {
                out.push_str(&json!({"Id": id, "Path": location, "Manifest": m}).to_string());
                out.push('\n');
            }
        }
        None | Some("") | Some("table") => {
            let mut lines = vec!["VOLUME\tBACKUP\tCREATED\tSIZE\tSTORED\tPAUSED".to_owned()];
            for (id, _, m) in &found {
                lines.push(format!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    m.volume,
                    id,
                    m.created_at,
                    human_size(m.bytes as f64),
                    human_size(m.stored_bytes as f64),
                    if m.paused { "yes" } else { "no" }
                ));
            }
            out = crate::tabwriter::align(&lines);
        }
        Some(other) => bail!("unknown format {other:?}: use table or json"),
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

async fn backups_prune(a: BackupsPruneArgs) -> anyhow::Result<ExitCode> {
    if a.keep_last.is_none() && a.keep_within.is_none() {
        bail!("'strata volume backups prune' needs --keep-last and/or --keep-within");
    }
    let dest = Dest::open(&a.dest, &a.s3)?;
    let found = listed(&dest, a.volume.as_deref()).await?;
    let candidates: Vec<retention::Candidate> = found
        .iter()
        .map(|(id, _, m)| retention::Candidate { id: id.clone(), volume: m.volume.clone(), created: m.created_secs() })
        .collect();
    let rules = retention::Rules { keep_last: a.keep_last, keep_within: a.keep_within, force: a.force };
    let mut failed = false;
    for v in retention::decide(&candidates, &rules, now_secs()) {
        if v.keep {
            if a.dry_run {
                println!("keep {} ({})", v.id, v.reason);
            }
        } else if a.dry_run {
            println!("would delete {}", v.id);
        } else {
            match dest.remove(&v.id).await {
                Ok(()) => println!("deleted {}", v.id),
                Err(e) => {
                    failed = true;
                    eprintln!("{e:#}");
                }
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
