//! Data in and out of volumes: export and import (plain tar), clone, backup and restore.
//!
//! # Why it is built this way
//!
//! - **Everything through the archive crate.** Reading a volume is [`strata_archive::pack`]
//!   (never follows a symlink out of the volume); filling one is [`strata_archive::apply`], the
//!   same confined extractor image layers use, so a hostile archive (`../x`, absolute symlinks,
//!   links through symlinks) cannot write outside the volume.
//! - **A volume is never seen half-filled.** A plain volume (no driver options) that no
//!   container uses is filled in a staging directory under the volumes' trash, which is then
//!   swapped with `_data` in one `renameat2(RENAME_EXCHANGE)` — only after a restore's checksum
//!   matched. A failure deletes the staging directory and leaves the volume as it was; a crash
//!   leaves the staging directory in the trash, which the next start empties. A volume that must
//!   be filled in place (mount options, a size limit, in use with `force`) is emptied again when
//!   the fill fails, and a volume created for the fill is removed.
//! - **Volumes are held while their data is read or written.** A row in `volume_mounts` with a
//!   [`TRANSFER_HOLDER_PREFIX`] holder makes `volume rm` and prune answer "in use" (naming the
//!   operation) instead of deleting data under a backup; the start-up repair drops such rows
//!   left by a crash.
//! - **Consistency.** A backup pauses the volume's writers ([`crate::freeze`]) only while its
//!   data is read; the guard resumes them on every path.
//! - **Fills are as fast as the filesystem lets them be.** Import and restore read, hash and
//!   decompress on one thread while another creates the files ([`extract_pipelined`]); the
//!   extractor computes no layer identity and starts writing large files back as they complete,
//!   and one `syncfs` after the checks makes the data durable before the volume shows it. Making
//!   ~90k small files is then most of the time, in the kernel's directory and inode code, as for
//!   `tar x` (`bench/README.md`, "after the restore rework": restore runs at the host's own
//!   `zstd -dc | tar x` speed).

use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use sha2::Digest;
use strata_archive::{ApplyOptions, ArchiveError, CompressWriter, Ownership, PackOptions, StreamRecord, WhiteoutMode};
use strata_backup::{FORMAT_VERSION, Manifest, frame};

use crate::db::{self, Volume};
use crate::error::{Op, VolumeError};
use crate::freeze::WriterFreeze;
use crate::fsops;
use crate::name;
use crate::options;
use crate::progress::{ProgressFn, Reporter, Stage};
use crate::quota::DATA_DIR_MODE;
use crate::service::{CreateRequest, LOCAL_DRIVER, Volumes, now_secs, random_name};

/// Holders of `volume_mounts` rows recorded while a volume's data is read or written.
pub const TRANSFER_HOLDER_PREFIX: &str = "transfer:";
/// zstd level of backups: level 3 (zstd's default) compresses better than gzip -6 at several
/// times its speed; higher levels cost far more time than they save space.
const ZSTD_LEVEL: i32 = 3;
/// Length of the random part of holder and staging names.
const RANDOM_SUFFIX: usize = 12;
/// Permission bits.
const PERM_MASK: u32 = 0o7777;

/// What an import or restore wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportReport {
    /// Entries applied.
    pub entries: u64,
    /// Bytes of file contents.
    pub bytes: u64,
}

/// A volume's data held for a transfer; dropping it releases the hold (and unmounts a volume
/// with mount options after its last use).
struct DataUse<'a> {
    volumes: &'a Volumes,
    name: String,
    holder: String,
    path: PathBuf,
}

impl Drop for DataUse<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.volumes.unmount_for(&self.name, &self.holder) {
            tracing::warn!(volume = %self.name, error = %e, "cannot release a volume after a transfer");
        }
    }
}

/// Whether a volume is mounted from elsewhere (`type`/`device`/`o`) rather than a directory.
fn has_mount_options(v: &Volume) -> bool {
    options::parse(&v.options).map(|p| p.mount.is_some()).unwrap_or(true)
}

fn is_empty_dir(path: &Path) -> io::Result<bool> {
    Ok(std::fs::read_dir(path)?.next().is_none())
}

/// Deletes everything inside `path` (never crossing into a mount).
fn empty_dir(path: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(path)? {
        fsops::remove_tree(&entry?.path())?;
    }
    Ok(())
}

/// Sets the owner and permission bits of a volume's top directory.
fn set_root_attrs(dir: &Path, mode: u32, uid: u32, gid: u32) -> io::Result<()> {
    rustix::fs::chown(dir, Some(rustix::fs::Uid::from_raw(uid)), Some(rustix::fs::Gid::from_raw(gid)))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & PERM_MASK))
}

/// A writer that hashes and counts what passes through it.
struct HashWriter<W> {
    inner: W,
    hasher: sha2::Sha256,
    len: u64,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Chunks of decompressed tar queued between the reading thread and the extractor.
const PIPE_DEPTH: usize = 8;
/// Size of those chunks.
const PIPE_CHUNK: usize = 1 << 20;

/// A reader that counts (and hashes, when asked) what passes through it, and reports the count.
struct Counting<'a, R> {
    inner: R,
    hasher: Option<sha2::Sha256>,
    len: u64,
    reporter: Reporter<'a>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        self.len += n as u64;
        self.reporter.update(self.len);
        Ok(n)
    }
}

/// What the reading thread of [`extract_pipelined`] saw of the input (as sent or stored, before
/// decompression).
struct Received {
    /// Whether the input could be opened for decompression (its magic bytes).
    opened: Result<(), ArchiveError>,
    /// Reading the input to its end (an error is the stream's: the client went away).
    drained: io::Result<()>,
    /// sha256 (hex) of every byte read, when asked for.
    sha256: Option<String>,
    len: u64,
}

/// Extracts `input` (plain tar, gzip or zstd) with `extract`, which runs on the calling thread,
/// while a thread of its own reads, counts, hashes (`hash`) and decompresses the input: on two
/// cores, decoding and hashing overlap with creating files, the extraction's own cost. The input
/// is always read to its end (a backup's checksum covers all of it), also when `extract` stopped
/// early.
fn extract_pipelined<R: Read + Send, T>(
    input: R,
    hash: bool,
    reporter: Reporter<'_>,
    extract: impl FnOnce(&mut ChannelReader) -> T,
) -> (T, Received) {
    let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(PIPE_DEPTH);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut counting = Counting { inner: input, hasher: hash.then(sha2::Sha256::new), len: 0, reporter };
            let opened = strata_archive::decompress(&mut counting).map(|mut decoded| {
                loop {
                    let mut chunk = vec![0u8; PIPE_CHUNK];
                    match fill(&mut decoded, &mut chunk) {
                        Ok(0) => break,
                        Ok(n) => {
                            chunk.truncate(n);
                            // The extractor gave up: stop decoding, still read the rest.
                            if tx.send(Ok(chunk)).is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    }
                }
            });
            drop(tx);
            let drained = io::copy(&mut counting, &mut io::sink()).map(drop);
            counting.reporter.finish(counting.len);
            Received { opened, drained, sha256: counting.hasher.map(|h| hex(&h.finalize())), len: counting.len }
        });
        let mut channel = ChannelReader { rx, current: Vec::new(), pos: 0 };
        let out = extract(&mut channel);
        // Unblocks the reading thread if the extractor stopped before the end.
        drop(channel);
        let received = reader.join().unwrap_or_else(|_| Received {
            opened: Ok(()),
            drained: Err(io::Error::other("the reading thread panicked")),
            sha256: None,
            len: 0,
        });
        (out, received)
    })
}

/// Reads into `buf` until it is full or the input ends; returns the bytes read.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match reader.read(&mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// A `Read` over the chunks the reading thread of [`extract_pipelined`] sends.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Flushes the filesystem holding `dir` (`syncfs`): what a fill wrote is on disk before the
/// volume shows it.
fn sync_dir(op: Op, name: &str, dir: &Path, progress: ProgressFn<'_>) -> Result<(), VolumeError> {
    crate::progress::syncing(progress);
    let io_err = |e: io::Error| VolumeError::io(op, name, "cannot sync", dir, e);
    let fd = std::fs::File::open(dir).map_err(io_err)?;
    rustix::fs::syncfs(&fd).map_err(|e| io_err(e.into()))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Volumes {
    /// Installs the hook that pauses a volume's writers during a backup (the container
    /// service's; until it calls this, nothing is paused).
    pub fn set_writer_freeze(&self, freeze: Arc<dyn WriterFreeze>) {
        *self.freezer.write().unwrap_or_else(|p| p.into_inner()) = freeze;
    }

    fn freezer(&self) -> Arc<dyn WriterFreeze> {
        self.freezer.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Holds `name`'s data for a transfer: mounts a volume with mount options, records the hold.
    fn use_data(&self, op: Op, name: &str) -> Result<DataUse<'_>, VolumeError> {
        let holder = format!("{TRANSFER_HOLDER_PREFIX}{op}-{}", &random_name()[..RANDOM_SUFFIX]);
        let v = self.inspect(name)?;
        let path = if has_mount_options(&v) {
            self.mount_for(name, &holder)?
        } else {
            let _guard = self.lock(op, name)?;
            self.store.write(|tx| -> Result<(), VolumeError> {
                if db::get(tx, &self.root, name)?.is_none() {
                    return Err(VolumeError::not_found(Op::Get, name));
                }
                db::add_mount(tx, name, &holder)?;
                Ok(())
            })?;
            v.mountpoint
        };
        Ok(DataUse { volumes: self, name: name.to_owned(), holder, path })
    }

    /// The containers (and transfers) using `name`.
    fn users(&self, name: &str) -> Result<Vec<String>, VolumeError> {
        let conn = self.store.conn();
        let mut users = db::holders(&conn, name)?;
        for m in db::mount_holders(&conn, name)? {
            if !users.contains(&m) {
                users.push(m);
            }
        }
        Ok(users)
    }

    /// Whether an import or restore into `name` would be refused (not empty, in use) — checked
    /// again when the data is made visible; this early check lets the API answer before the
    /// client has sent a large body.
    pub fn check_fillable(&self, restore: bool, name: &str, force: bool) -> Result<(), VolumeError> {
        let op = if restore { Op::Restore } else { Op::Import };
        let Some(v) = db::get(&self.store.conn(), &self.root, name)? else { return Ok(()) };
        if force {
            return Ok(());
        }
        let users = self.users(name)?;
        if !users.is_empty() {
            return Err(VolumeError::WriteInUse { op, name: name.to_owned(), holders: users });
        }
        if !has_mount_options(&v) && !self.data_is_empty(op, &v)? {
            return Err(VolumeError::NotEmpty { op, name: name.to_owned() });
        }
        Ok(())
    }

    /// Fills the volume `name` with what `fill` writes into the directory it is given, creating
    /// the volume from `create` when it does not exist. An existing volume must be empty and
    /// unused unless `force` (which replaces its contents). See the module docs for how the
    /// volume is kept from being seen half-filled.
    fn fill<T>(
        &self,
        op: Op,
        name: &str,
        force: bool,
        create: CreateRequest,
        fill: impl FnOnce(&Path) -> Result<T, VolumeError>,
    ) -> Result<(Volume, T), VolumeError> {
        name::validate(name).map_err(|source| VolumeError::InvalidName { name: name.to_owned(), source })?;
        let existing = db::get(&self.store.conn(), &self.root, name)?;
        let mut staged = create.options.is_empty();
        if let Some(v) = &existing {
            let users = self.users(name)?;
            if !users.is_empty() && !force {
                return Err(VolumeError::WriteInUse { op, name: name.to_owned(), holders: users });
            }
            if !force && !has_mount_options(v) && !self.data_is_empty(op, v)? {
                return Err(VolumeError::NotEmpty { op, name: name.to_owned() });
            }
            staged = !v.has_options() && users.is_empty();
        }
        if staged {
            self.fill_staged(op, name, force, existing, create, fill)
        } else {
            self.fill_in_place(op, name, force, existing, create, fill)
        }
    }

    fn data_is_empty(&self, op: Op, v: &Volume) -> Result<bool, VolumeError> {
        match is_empty_dir(&v.mountpoint) {
            Ok(empty) => Ok(empty),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
            Err(e) => Err(VolumeError::io(op, &v.name, "cannot read", v.mountpoint.clone(), e)),
        }
    }

    fn fill_staged<T>(
        &self,
        op: Op,
        name: &str,
        force: bool,
        existing: Option<Volume>,
        create: CreateRequest,
        fill: impl FnOnce(&Path) -> Result<T, VolumeError>,
    ) -> Result<(Volume, T), VolumeError> {
        let staging = self.trash.join(format!("{op}-{name}-{}", &random_name()[..RANDOM_SUFFIX]));
        std::fs::DirBuilder::new()
            .mode(DATA_DIR_MODE)
            .create(&staging)
            .and_then(|()| std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(DATA_DIR_MODE)))
            .map_err(|e| VolumeError::io(op, name, "cannot create the staging directory", staging.clone(), e))?;
        let discard = |e: VolumeError| {
            if let Err(re) = fsops::remove_tree(&staging) {
                tracing::warn!(path = %staging.display(), error = %re, "cannot delete a staging directory; the next start will");
            }
            e
        };
        let out = fill(&staging).map_err(discard)?;
        let v = match existing {
            Some(v) => v,
            None => self.create(create).map_err(discard)?,
        };
        {
            // Checked again under the name's lock: a container may have started to use the
            // volume, or another fill may have finished, while this one was staged.
            let _guard = self.lock(op, name).map_err(discard)?;
            let users = self.users(name).map_err(discard)?;
            if !users.is_empty() {
                return Err(discard(VolumeError::WriteInUse { op, name: name.to_owned(), holders: users }));
            }
            if !force && !self.data_is_empty(op, &v).map_err(discard)? {
                return Err(discard(VolumeError::NotEmpty { op, name: name.to_owned() }));
            }
            crate::crash::point(crate::crash::FILL_BEFORE_SWAP);
            rustix::fs::renameat_with(
                rustix::fs::CWD,
                &staging,
                rustix::fs::CWD,
                &v.mountpoint,
                rustix::fs::RenameFlags::EXCHANGE,
            )
            .map_err(|e| {
                discard(VolumeError::io(op, name, "cannot swap in the new contents of", v.mountpoint.clone(), e.into()))
            })?;
        }
        // `staging` now holds the old contents.
        if let Err(e) = fsops::remove_tree(&staging) {
            tracing::warn!(path = %staging.display(), error = %e, "cannot delete a volume's old contents; the next start will");
        }
        Ok((v, out))
    }

    fn fill_in_place<T>(
        &self,
        op: Op,
        name: &str,
        force: bool,
        existing: Option<Volume>,
        create: CreateRequest,
        fill: impl FnOnce(&Path) -> Result<T, VolumeError>,
    ) -> Result<(Volume, T), VolumeError> {
        let created = existing.is_none();
        let v = match existing {
            Some(v) => v,
            None => self.create(create)?,
        };
        let undo_create = |e: VolumeError| {
            if created && let Err(re) = self.remove(name, true) {
                tracing::warn!(volume = %name, error = %re, "cannot remove a volume whose fill failed");
            }
            e
        };
        let data = self.use_data(op, name).map_err(undo_create)?;
        let io_err = |what, e| VolumeError::io(op, name, what, data.path.clone(), e);
        let prepared = if force {
            empty_dir(&data.path).map_err(|e| io_err("cannot empty", e))
        } else {
            match is_empty_dir(&data.path) {
                Ok(true) => Ok(()),
                Ok(false) => Err(VolumeError::NotEmpty { op, name: name.to_owned() }),
                Err(e) => Err(io_err("cannot read", e)),
            }
        };
        let result = prepared.and_then(|()| fill(&data.path));
        match result {
            Ok(out) => Ok((v, out)),
            Err(e) => {
                if let Err(re) = empty_dir(&data.path) {
                    tracing::warn!(volume = %name, error = %re, "cannot empty a volume whose fill failed");
                }
                drop(data);
                Err(undo_create(e))
            }
        }
    }

    /// Writes the contents of `name` to `out` as a plain tar stream (`volume export`).
    pub fn export<W: Write>(&self, name: &str, out: W) -> Result<strata_archive::PackReport, VolumeError> {
        let data = self.use_data(Op::Export, name)?;
        strata_archive::pack(&data.path, &PackOptions::default(), out).map_err(|e| archive_error(Op::Export, name, e))
    }

    /// Fills `name` from a tar stream (plain, gzip or zstd) (`volume import`). A missing
    /// volume is created; an existing one must be empty and unused unless `force`, which
    /// replaces its contents. `progress` gets the bytes of `reader` read so far, out of
    /// `input_len` when the caller knows it.
    pub fn import<R: Read + Send>(
        &self,
        name: &str,
        reader: R,
        force: bool,
        input_len: Option<u64>,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<ImportReport, VolumeError> {
        let progress = progress.unwrap_or(&crate::progress::ignore);
        let create = CreateRequest { name: Some(name.to_owned()), ..CreateRequest::default() };
        let (_, report) = self.fill(Op::Import, name, force, create, |dir| {
            let reporter = Reporter::new(progress, Stage::Importing, input_len);
            let started = Instant::now();
            let (applied, received) =
                extract_pipelined(reader, false, reporter, |tar| strata_archive::apply(tar, dir, &apply_options()));
            received.opened.map_err(|e| archive_error(Op::Import, name, e))?;
            let r = applied.map_err(|e| archive_error(Op::Import, name, e))?;
            received.drained.map_err(|source| VolumeError::Stream { op: Op::Import, name: name.to_owned(), source })?;
            let extracted = started.elapsed();
            sync_dir(Op::Import, name, dir, progress)?;
            let synced = started.elapsed() - extracted;
            tracing::info!(volume = %name, entries = r.entries, bytes = r.size, input = received.len,
                extract_ms = extracted.as_millis(), sync_ms = synced.as_millis(), "volume imported");
            Ok(ImportReport { entries: r.entries, bytes: r.size })
        })?;
        Ok(report)
    }

    /// Whether `src` can be cloned into `dst` (it exists and has no mount options, `dst` does
    /// not exist); returns `src`. Checked again by the clone; this lets the API refuse at once.
    pub fn check_clonable(&self, src: &str, dst: &str) -> Result<Volume, VolumeError> {
        let s = self.inspect(src)?;
        if has_mount_options(&s) {
            return Err(VolumeError::Unsupported {
                op: Op::Clone,
                name: src.to_owned(),
                why: "a volume with mount options (type, device, o) cannot be cloned: its data lives on the mounted filesystem".into(),
            });
        }
        if db::get(&self.store.conn(), &self.root, dst)?.is_some() {
            return Err(VolumeError::Exists { op: Op::Clone, name: dst.to_owned() });
        }
        Ok(s)
    }

    /// A new volume `dst` with the contents, labels and options of `src` (`volume clone`).
    /// With `progress`, the size of `src` is measured first (or taken from what is remembered)
    /// so that the bytes copied can be reported out of a total.
    pub fn clone_volume(&self, src: &str, dst: &str, progress: Option<ProgressFn<'_>>) -> Result<Volume, VolumeError> {
        let s = self.check_clonable(src, dst)?;
        let source = self.use_data(Op::Clone, src)?;
        let meta = std::fs::metadata(&source.path)
            .map_err(|e| VolumeError::io(Op::Clone, src, "cannot read", source.path.clone(), e))?;
        let create = CreateRequest {
            name: Some(dst.to_owned()),
            driver: Some(s.driver.clone()),
            options: s.options.clone(),
            labels: s.labels.clone(),
        };
        let total = match progress {
            Some(_) => u64::try_from(self.usage_of(src)?.size).ok(),
            None => None,
        };
        let mut reporter = Reporter::new(progress.unwrap_or(&crate::progress::ignore), Stage::Cloning, total);
        let (v, ()) = self.fill(Op::Clone, dst, false, create, |dir| {
            let report = crate::copy::copy_tree(&source.path, dir, &mut |bytes| reporter.update(bytes))
                .map_err(|e| VolumeError::io(Op::Clone, dst, e.op, e.path, e.source))?;
            reporter.finish(report.bytes);
            tracing::info!(source = %src, volume = %dst, entries = report.entries, bytes = report.bytes,
                reflinked = report.reflinked, "volume cloned");
            set_root_attrs(dir, meta.mode(), meta.uid(), meta.gid())
                .map_err(|e| VolumeError::io(Op::Clone, dst, "cannot set the owner and mode of", dir, e))
        })?;
        Ok(v)
    }

    /// Writes a backup of `name` to `out`: the contents as a zstd-compressed tar stream
    /// (multi-threaded), pausing the volume's writers while they are read unless `!pause`.
    /// Returns the manifest (the caller sends it after the data: [`frame::encode`]).
    pub fn backup<W: Write>(&self, name: &str, pause: bool, out: W) -> Result<Manifest, VolumeError> {
        let v = self.inspect(name)?;
        let data = self.use_data(Op::Backup, name)?;
        let meta = std::fs::metadata(&data.path)
            .map_err(|e| VolumeError::io(Op::Backup, name, "cannot read", data.path.clone(), e))?;
        let freeze = if pause {
            Some(self.freezer().freeze(name).map_err(|why| VolumeError::Freeze { name: name.to_owned(), why })?)
        } else {
            None
        };
        let started = now_secs();
        let stream_err = |source| VolumeError::Stream { op: Op::Backup, name: name.to_owned(), source };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        let hashed = HashWriter { inner: out, hasher: sha2::Sha256::new(), len: 0 };
        let mut zstd = CompressWriter::zstd(hashed, ZSTD_LEVEL, threads).map_err(stream_err)?;
        let report = strata_archive::pack(&data.path, &PackOptions::default(), &mut zstd)
            .map_err(|e| archive_error(Op::Backup, name, e))?;
        let mut hashed = zstd.finish().map_err(stream_err)?;
        hashed.flush().map_err(stream_err)?;
        crate::crash::point(crate::crash::BACKUP_AFTER_DATA);
        let paused_containers = freeze.as_ref().map(|g| g.paused().to_vec()).unwrap_or_default();
        drop(freeze);
        Ok(Manifest {
            format: FORMAT_VERSION,
            volume: v.name,
            driver: v.driver,
            options: v.options,
            labels: v.labels,
            volume_created_at: strata_backup::manifest::format_time(v.created_at),
            created_at: strata_backup::manifest::format_time(started),
            entries: report.entries,
            bytes: report.size,
            tar_bytes: report.stream_len,
            stored_bytes: hashed.len,
            sha256: hex(&hashed.hasher.finalize()),
            compression: strata_backup::manifest::COMPRESSION_ZSTD.to_owned(),
            strata_version: env!("CARGO_PKG_VERSION").to_owned(),
            paused: pause,
            paused_containers,
            root_mode: meta.mode() & PERM_MASK,
            root_uid: meta.uid(),
            root_gid: meta.gid(),
        })
    }

    /// Restores a backup stream (its manifest frame, then the data) into the volume `name`
    /// (default: the backed-up volume's name), created with the backup's labels and options.
    /// The data's sha256 and length are checked against the manifest before the volume shows
    /// the new contents; a corrupt or truncated stream leaves the volume as it was. `progress`
    /// gets the bytes of data read so far, out of the manifest's length.
    pub fn restore<R: Read + Send>(
        &self,
        mut reader: R,
        name: Option<&str>,
        force: bool,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<(Volume, Manifest, ImportReport), VolumeError> {
        let progress = progress.unwrap_or(&crate::progress::ignore);
        let label = name.unwrap_or("-");
        let bad = |name: &str, why: String| VolumeError::BadBackup { op: Op::Restore, name: name.to_owned(), why };
        let m = frame::read_leading(&mut reader).map_err(|e| bad(label, e.to_string()))?;
        let target = name.map_or_else(|| m.volume.clone(), str::to_owned);
        if m.format > FORMAT_VERSION {
            return Err(bad(
                &target,
                format!("it has format {} and this strata reads up to {FORMAT_VERSION}", m.format),
            ));
        }
        if m.compression != strata_backup::manifest::COMPRESSION_ZSTD {
            return Err(bad(&target, format!("unknown compression {:?}", m.compression)));
        }
        let create = CreateRequest {
            name: Some(target.clone()),
            driver: Some(if m.driver.is_empty() { LOCAL_DRIVER.to_owned() } else { m.driver.clone() }),
            options: m.options.clone(),
            labels: m.labels.clone(),
        };
        let (v, report) = self.fill(Op::Restore, &target, force, create, |dir| {
            let reporter = Reporter::new(progress, Stage::Restoring, Some(m.stored_bytes));
            let started = Instant::now();
            let (applied, received) =
                extract_pipelined(reader, true, reporter, |tar| strata_archive::apply(tar, dir, &apply_options()));
            if let Err(e) = received.drained {
                return Err(VolumeError::Stream { op: Op::Restore, name: target.clone(), source: e });
            }
            let (sha, len) = (received.sha256.unwrap_or_default(), received.len);
            if len != m.stored_bytes || sha != m.sha256 {
                return Err(bad(
                    &target,
                    format!(
                        "its data does not match the manifest (sha256 {sha}, {len} bytes; expected {}, {} bytes): it is corrupt or truncated",
                        m.sha256, m.stored_bytes
                    ),
                ));
            }
            let r = match received.opened.and(applied) {
                Ok(r) => r,
                Err(e) if e.is_bad_input() => return Err(bad(&target, e.to_string())),
                Err(e) => return Err(archive_error(Op::Restore, &target, e)),
            };
            if r.entries != m.entries {
                return Err(bad(&target, format!("it holds {} entries, its manifest says {}", r.entries, m.entries)));
            }
            if m.root_mode != 0 {
                set_root_attrs(dir, m.root_mode, m.root_uid, m.root_gid)
                    .map_err(|e| VolumeError::io(Op::Restore, &target, "cannot set the owner and mode of", dir, e))?;
            }
            let extracted = started.elapsed();
            sync_dir(Op::Restore, &target, dir, progress)?;
            let synced = started.elapsed() - extracted;
            tracing::info!(volume = %target, entries = r.entries, bytes = r.size, stored = len,
                extract_ms = extracted.as_millis(), sync_ms = synced.as_millis(), "volume restored");
            Ok(ImportReport { entries: r.entries, bytes: r.size })
        })?;
        Ok((v, m, report))
    }
}

/// How imports and restores apply: owners from the archive, `.wh.` names as plain files, large
/// files sent to the disk as they complete (the caller syncs once at the end, so that a fill
/// that reported success is on disk), no diff id or tar-split (a volume's tar is never rebuilt;
/// a restore checks its own sha256).
fn apply_options() -> ApplyOptions {
    ApplyOptions {
        whiteouts: WhiteoutMode::Plain,
        ownership: Ownership::FromArchive,
        no_overwrite_dir_non_dir: false,
        sync: false,
        writeback: true,
        record: StreamRecord::Skip,
    }
}

/// An archive error with the operation and volume; a write error is the stream's (the client
/// went away or the destination is full).
fn archive_error(op: Op, name: &str, e: ArchiveError) -> VolumeError {
    match e {
        ArchiveError::Write { source } => VolumeError::Stream { op, name: name.to_owned(), source },
        e => VolumeError::Archive { op, name: name.to_owned(), source: e },
    }
}

/// Drops the holds of transfers that were running when the daemon stopped (start-up repair).
pub(crate) fn drop_stale_holds(conn: &strata_store::rusqlite::Connection) -> Result<usize, VolumeError> {
    let pattern = format!("{TRANSFER_HOLDER_PREFIX}%");
    Ok(conn.execute("DELETE FROM volume_mounts WHERE holder LIKE ?1", [pattern])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::os::unix::fs::symlink;
    use strata_store::Store;

    struct Fixture {
        _dir: tempfile::TempDir,
        volumes: Volumes,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(&dir.path().join("strata.db"), &[crate::MIGRATIONS]).expect("store"));
        let volumes = Volumes::open(store, dir.path()).expect("volumes");
        Fixture { _dir: dir, volumes }
    }

    fn create(v: &Volumes, name: &str, labels: &[(&str, &str)]) -> Volume {
        let labels = labels.iter().map(|(k, val)| ((*k).to_owned(), (*val).to_owned())).collect();
        v.create(CreateRequest { name: Some(name.into()), labels, ..CreateRequest::default() }).expect("create")
    }

    /// A tree with the kinds of entries a volume holds.
    fn populate(dir: &Path) {
        std::fs::create_dir_all(dir.join("a/b")).expect("mkdir");
        std::fs::write(dir.join("a/b/file.txt"), b"hello\n").expect("write");
        std::fs::write(dir.join("exec.sh"), b"#!/bin/sh\n").expect("write");
        std::fs::set_permissions(dir.join("exec.sh"), std::fs::Permissions::from_mode(0o751)).expect("chmod");
        std::fs::set_permissions(dir.join("a"), std::fs::Permissions::from_mode(0o700)).expect("chmod");
        symlink("/etc/passwd", dir.join("abs-link")).expect("symlink");
        symlink("a/b/file.txt", dir.join("rel-link")).expect("symlink");
        std::fs::hard_link(dir.join("a/b/file.txt"), dir.join("hard")).expect("link");
        std::fs::write(dir.join("big"), vec![7u8; 300_000]).expect("write");
    }

    /// Relative path → (mode, contents or link target) of every entry below `dir`.
    fn snapshot(dir: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
        let mut out = BTreeMap::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("read_dir") {
                let p = e.expect("entry").path();
                let meta = std::fs::symlink_metadata(&p).expect("stat");
                let rel = p.strip_prefix(dir).expect("prefix").display().to_string();
                let body = if meta.file_type().is_symlink() {
                    std::fs::read_link(&p).expect("readlink").into_os_string().into_encoded_bytes()
                } else if meta.is_dir() {
                    stack.push(p.clone());
                    Vec::new()
                } else {
                    std::fs::read(&p).expect("read")
                };
                out.insert(rel, (meta.mode(), body));
            }
        }
        out
    }

    fn backup_bytes(v: &Volumes, name: &str) -> (Manifest, Vec<u8>) {
        let mut data = Vec::new();
        let m = v.backup(name, true, &mut data).expect("backup");
        let mut stream = frame::encode(&m);
        stream.extend_from_slice(&data);
        (m, stream)
    }

    #[test]
    fn backup_and_restore_round_trip() {
        let f = fixture();
        let src = create(&f.volumes, "src", &[("env", "prod")]);
        populate(&src.mountpoint);
        std::fs::set_permissions(&src.mountpoint, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let (m, stream) = backup_bytes(&f.volumes, "src");
        assert_eq!((m.volume.as_str(), m.paused, m.root_mode), ("src", true, 0o700));
        assert_eq!(m.bytes, 6 + 10 + 300_000);
        let (v, back, report) = f.volumes.restore(&stream[..], Some("copy"), false, None).expect("restore");
        assert_eq!(back, m);
        assert_eq!(report.entries, m.entries);
        assert_eq!(v.labels.get("env").map(String::as_str), Some("prod"));
        assert_eq!(snapshot(&v.mountpoint), snapshot(&src.mountpoint));
        let mode = std::fs::metadata(&v.mountpoint).expect("stat").mode() & PERM_MASK;
        assert_eq!(mode, 0o700);
        // Restoring over a non-empty volume needs force.
        let err = f.volumes.restore(&stream[..], Some("copy"), false, None).expect_err("not empty");
        assert!(matches!(err, VolumeError::NotEmpty { .. }), "{err}");
        f.volumes.restore(&stream[..], Some("copy"), true, None).expect("forced");
        // Nothing is left in the trash or held.
        assert!(is_empty_dir(&f.volumes.trash).expect("trash"));
        f.volumes.remove("src", false).expect("no hold left");
    }

    #[test]
    fn corrupt_or_truncated_backups_leave_nothing() {
        let f = fixture();
        let src = create(&f.volumes, "src", &[]);
        populate(&src.mountpoint);
        let (_, stream) = backup_bytes(&f.volumes, "src");
        let mut flipped = stream.clone();
        let at = flipped.len() - 100;
        flipped[at] ^= 0x40;
        let truncated = &stream[..stream.len() / 2];
        for (what, bytes) in [("flipped", &flipped[..]), ("truncated", truncated)] {
            let err = f.volumes.restore(bytes, Some("new"), false, None).expect_err(what);
            assert!(matches!(err, VolumeError::BadBackup { .. }), "{what}: {err}");
            assert!(f.volumes.inspect("new").is_err(), "{what}: a volume was left behind");
            // Over an existing volume: its contents stay as they were.
            let before = snapshot(&src.mountpoint);
            let err = f.volumes.restore(bytes, Some("src"), true, None).expect_err(what);
            assert!(matches!(err, VolumeError::BadBackup { .. }), "{what}: {err}");
            assert_eq!(snapshot(&src.mountpoint), before, "{what}");
        }
        assert!(is_empty_dir(&f.volumes.trash).expect("trash"));
        let err = f.volumes.restore(&b"not a backup"[..], None, false, None).expect_err("no manifest");
        assert!(err.to_string().contains("does not start with a manifest frame"), "{err}");
    }

    #[test]
    fn export_import_round_trip_and_rules() {
        let f = fixture();
        let src = create(&f.volumes, "src", &[]);
        populate(&src.mountpoint);
        let mut tar = Vec::new();
        f.volumes.export("src", &mut tar).expect("export");
        f.volumes.import("dst", &tar[..], false, None, None).expect("import into a new volume");
        let dst = f.volumes.inspect("dst").expect("created");
        assert_eq!(snapshot(&dst.mountpoint), snapshot(&src.mountpoint));
        let err = f.volumes.import("dst", &tar[..], false, None, None).expect_err("not empty");
        assert!(matches!(err, VolumeError::NotEmpty { .. }), "{err}");
        std::fs::write(dst.mountpoint.join("extra"), b"x").expect("write");
        f.volumes.import("dst", &tar[..], true, None, None).expect("force replaces");
        assert_eq!(snapshot(&dst.mountpoint), snapshot(&src.mountpoint));
    }

    #[test]
    fn hostile_imports_are_confined_and_leave_nothing() {
        let f = fixture();
        let outside = f._dir.path().join("escaped");
        // `../escaped` from a hand-made header (the tar crate's builder refuses such names).
        let mut header = tar::Header::new_gnu();
        header.as_mut_bytes()[..b"../escaped".len()].copy_from_slice(b"../escaped");
        header.set_size(1);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        let mut b = tar::Builder::new(Vec::new());
        b.append(&header, &b"x"[..]).expect("append");
        let tar = b.into_inner().expect("tar");
        let err = f.volumes.import("evil", &tar[..], false, None, None).expect_err("refused");
        assert!(matches!(err, VolumeError::Archive { .. }), "{err}");
        assert!(!outside.exists());
        assert!(f.volumes.inspect("evil").is_err(), "a failed import into a new volume leaves none");
        // An absolute symlink, then a write through it: lands inside the volume.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        b.append_link(&mut h, "link", f._dir.path()).expect("symlink");
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        b.append_data(&mut h, "link/escaped", &b"x"[..]).expect("file");
        let tar = b.into_inner().expect("tar");
        let _ = f.volumes.import("evil2", &tar[..], false, None, None);
        assert!(!outside.exists(), "a write through an absolute symlink escaped the volume");
    }

    #[test]
    fn clones_are_independent() {
        let f = fixture();
        let src = create(&f.volumes, "src", &[("a", "1")]);
        populate(&src.mountpoint);
        let dst = f.volumes.clone_volume("src", "dst", None).expect("clone");
        assert_eq!(dst.labels, src.labels);
        assert_eq!(snapshot(&dst.mountpoint), snapshot(&src.mountpoint));
        std::fs::write(dst.mountpoint.join("a/b/file.txt"), b"changed").expect("write");
        std::fs::write(dst.mountpoint.join("hard"), b"changed too").expect("write");
        assert_eq!(std::fs::read(src.mountpoint.join("a/b/file.txt")).expect("read"), b"hello\n");
        let err = f.volumes.clone_volume("src", "dst", None).expect_err("exists");
        assert!(matches!(err, VolumeError::Exists { .. }), "{err}");
        assert!(matches!(f.volumes.clone_volume("nosuch", "x", None), Err(VolumeError::NotFound { .. })));
    }
}
