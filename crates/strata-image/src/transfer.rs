//! How images come and go: `docker import` (a root filesystem tar), `docker load` (the legacy
//! `docker save` layout and the OCI layout) and `docker save`.
//!
//! Loads stream: each layer tar inside the archive is applied while the archive is read (on
//! overlay2 a layer's directory does not depend on its parent, so it is staged before the
//! manifest, which `docker save` writes last, says where it goes); drivers that copy parents
//! (vfs) spool layers to scratch files first. Every layer of an operation in flight is held by
//! a temporary holder, so a crash leaves nothing the next start does not collect.
//!
//! Saves write the layout Docker 25+ writes — OCI (`oci-layout`, `index.json`, `blobs/sha256/…`)
//! plus the legacy `manifest.json` and `repositories` — which Docker 20.10 and later load. Layer
//! tars are rebuilt from their tar-split, so their sha256 is the config's diff id again.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use serde_json::{Value, json};
use strata_layer::store::{Staged, temporary_holder};
use strata_layer::tarlayer::decompressed;
use strata_layer::{ChainId, Digest, LayerStore};

use crate::config::{ImageConfig, apply_changes, empty_container_config, now_rfc3339_nanos};
use crate::reference::Reference;
use crate::store::{Image, ImageError, ImageResult, ImageStore};

/// Files of an archive kept in memory (configs, manifests, small layers); larger ones stream.
const IN_MEMORY_MAX: u64 = 1 << 20;
/// The largest JSON document of an archive accepted.
const JSON_MAX: usize = 64 << 20;
/// Tar block size.
const BLOCK: u64 = 512;
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// `docker import` options.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub tag: Option<Reference>,
    pub changes: Vec<String>,
    pub message: String,
    /// Where the tar came from (`-` for the request body), for the default comment.
    pub source: String,
}

/// What a load reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadEvent {
    /// A layer was applied (short diff id, bytes).
    Layer { id: String, bytes: u64 },
    /// `Loaded image: name:tag`.
    Loaded(String),
    /// `Loaded image ID: sha256:…` (an untagged image).
    LoadedId(String),
}

/// Drops a temporary layer holder (and what only it held) when an operation ends, however.
struct TmpHold<'a> {
    layers: &'a LayerStore,
    holder: String,
}

impl Drop for TmpHold<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.layers.release(&self.holder) {
            tracing::warn!(holder = %self.holder, error = %e, "cannot release temporary layer references; the next start will");
        }
    }
}

/// The diff id of a layer without changes (the sha256 of an empty tar: two zero blocks).
const EMPTY_TAR_DIFF_ID: &str = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

/// The Go architecture name of this machine (`amd64`, `arm64`).
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

impl ImageStore {
    /// `docker import`: one layer from a root filesystem tar (uncompressed, gzip or zstd).
    pub fn import(&self, tar: impl Read, opts: &ImportOptions) -> ImageResult<Image> {
        let mut container_config = empty_container_config();
        apply_changes(&mut container_config, &opts.changes).map_err(|e| ImageError::Invalid(e.to_string()))?;
        let hold = TmpHold { layers: self.layers(), holder: temporary_holder() };
        let layer = self.layers().register(None, tar, &hold.holder)?;
        let created = now_rfc3339_nanos();
        let comment =
            if opts.message.is_empty() { format!("Imported from {}", opts.source) } else { opts.message.clone() };
        let config = json!({
            "architecture": go_arch(),
            "comment": comment,
            "config": Value::Object(container_config),
            "container_config": Value::Object(empty_container_config()),
            "created": created,
            "docker_version": env!("CARGO_PKG_VERSION"),
            "history": [{"created": created, "comment": comment}],
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id.to_string()]},
        });
        let raw = serde_json::to_vec(&config).map_err(|e| ImageError::Invalid(e.to_string()))?;
        let tags: Vec<Reference> = opts.tag.iter().cloned().map(Reference::with_default_tag).collect();
        self.create(&raw, Some(&layer.chain_id), None, &tags)
    }

    /// `docker commit` (for the container service): registers `diff_tar` on the image's chain and
    /// records an image whose config is `container_config` with `changes`, `author`, `comment`.
    pub fn commit(&self, parent: &Image, diff_tar: impl Read, c: &CommitOptions) -> ImageResult<Image> {
        let mut container_config = match c.container_config.clone() {
            Value::Object(m) => m,
            _ => empty_container_config(),
        };
        apply_changes(&mut container_config, &c.changes).map_err(|e| ImageError::Invalid(e.to_string()))?;
        let hold = TmpHold { layers: self.layers(), holder: temporary_holder() };
        let layer = self.layers().register(parent.top_layer.as_ref(), diff_tar, &hold.holder)?;
        let created = now_rfc3339_nanos();
        let mut cfg: Value =
            serde_json::from_slice(&parent.config_raw).map_err(|e| ImageError::Invalid(e.to_string()))?;
        // As Docker: a container that changed nothing adds no layer, only a history entry
        // marked empty, so the image has its parent's layers.
        let empty = layer.diff_id.as_str() == EMPTY_TAR_DIFF_ID;
        let mut diff_ids = parent.config.rootfs.diff_ids.clone();
        if !empty {
            diff_ids.push(layer.diff_id.to_string());
        }
        let mut history = cfg.get("history").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut entry = json!({"created": created});
        if !c.author.is_empty() {
            entry["author"] = Value::from(c.author.clone());
        }
        // `docker history`'s CREATED BY of a commit: the container's command (Docker's `Cmd`
        // joined by spaces).
        let created_by = c.container_config["Cmd"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        if !created_by.is_empty() {
            entry["created_by"] = Value::from(created_by);
        }
        if !c.comment.is_empty() {
            entry["comment"] = Value::from(c.comment.clone());
        }
        if empty {
            entry["empty_layer"] = Value::Bool(true);
        }
        history.push(entry);
        if let Some(o) = cfg.as_object_mut() {
            o.insert("config".into(), Value::Object(container_config));
            o.insert("container_config".into(), c.container_config.clone());
            o.insert("container".into(), Value::from(c.container_id.clone()));
            o.insert("created".into(), Value::from(created));
            o.insert("author".into(), Value::from(c.author.clone()));
            o.insert("comment".into(), Value::from(c.comment.clone()));
            o.insert("docker_version".into(), Value::from(env!("CARGO_PKG_VERSION")));
            o.insert("history".into(), Value::from(history));
            o.insert("rootfs".into(), json!({"type": "layers", "diff_ids": diff_ids}));
            o.insert("parent".into(), Value::from(parent.id.to_string()));
        }
        let raw = serde_json::to_vec(&cfg).map_err(|e| ImageError::Invalid(e.to_string()))?;
        let tags: Vec<Reference> = c.tag.iter().cloned().map(Reference::with_default_tag).collect();
        let top = if empty { parent.top_layer.as_ref() } else { Some(&layer.chain_id) };
        self.create(&raw, top, Some(&parent.id), &tags)
    }

    /// `docker load`: every image of a `docker save` archive (legacy or OCI layout).
    pub fn load(&self, input: impl Read, events: &mut dyn FnMut(LoadEvent)) -> ImageResult<Vec<Image>> {
        let hold = TmpHold { layers: self.layers(), holder: temporary_holder() };
        let spool_dir = self.tmp.join(format!("load-{}", strata_layer::id::random_link_id()));
        let _spool_guard = DirGuard(spool_dir.clone());
        let mut archive = Archive::default();
        let stream = decompressed(input).map_err(|e| ImageError::Invalid(e.to_string()))?;
        let mut outer = tar::Archive::new(stream);
        let stage = self.layers().driver().stages_without_parent();
        for entry in outer.entries().map_err(|e| invalid_archive(&e))? {
            let mut entry = entry.map_err(|e| invalid_archive(&e))?;
            let path = entry.path().map_err(|e| invalid_archive(&e))?;
            let Some(name) = clean(&path) else { continue };
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                if let Ok(Some(target)) = entry.link_name() {
                    let base = if kind.is_symlink() {
                        Path::new(&name).parent().unwrap_or(Path::new("")).join(&target)
                    } else {
                        target.into_owned()
                    };
                    if let Some(t) = clean(&base) {
                        archive.aliases.insert(name, t);
                    }
                }
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let size = entry.size();
            if size <= IN_MEMORY_MAX {
                let mut buf = Vec::with_capacity(size as usize);
                entry.read_to_end(&mut buf).map_err(|e| invalid_archive(&e))?;
                archive.files.insert(name, Source::Memory(buf));
            } else if stage {
                match self.layers().stage(&mut entry) {
                    Ok(staged) => {
                        events(LoadEvent::Layer { id: staged.diff_id.short().to_owned(), bytes: staged.tar_len });
                        archive.files.insert(name, Source::Staged(staged));
                    }
                    Err(e) => {
                        archive.files.insert(name, Source::Failed(e.to_string()));
                    }
                }
            } else {
                std::fs::create_dir_all(&spool_dir)?;
                let file = spool_dir.join(format!("{}", archive.files.len()));
                let mut out = std::fs::File::create(&file)?;
                io::copy(&mut entry, &mut out)?;
                archive.files.insert(name, Source::Spooled(file));
            }
        }
        let manifests = archive.manifests()?;
        if manifests.is_empty() {
            return Err(ImageError::Invalid("no images found in the archive (no manifest.json or index.json)".into()));
        }
        let mut loaded = Vec::new();
        for m in manifests {
            let config_raw = archive.json_bytes(&m.config)?;
            let config = ImageConfig::parse(&config_raw)?;
            let diff_ids = config.diff_ids()?;
            if diff_ids.len() != m.layers.len() {
                return Err(ImageError::Invalid(format!(
                    "invalid manifest: {} layers listed for an image config with {} diff ids",
                    m.layers.len(),
                    diff_ids.len()
                )));
            }
            if diff_ids.len() > strata_layer::store::MAX_IMAGE_LAYERS {
                return Err(strata_layer::LayerError::TooDeep { depth: diff_ids.len() }.into());
            }
            let mut parent: Option<ChainId> = None;
            for (path, want) in m.layers.iter().zip(&diff_ids) {
                let chain = strata_layer::id::chain_id(parent.as_ref(), want);
                let layer = if self.layers().get(&chain)?.is_some() {
                    // Already here: hold it; drop whatever this archive staged for it.
                    archive.take(path);
                    self.layers().hold(&chain, &hold.holder)?
                } else {
                    match archive.take(path) {
                        Some(Source::Staged(staged)) => {
                            check_diff_id(path, want, &staged.diff_id)?;
                            self.layers().publish(staged, parent.as_ref(), &hold.holder)?
                        }
                        Some(Source::Memory(bytes)) => {
                            let l = self.layers().register(parent.as_ref(), bytes.as_slice(), &hold.holder)?;
                            check_diff_id(path, want, &l.diff_id)?;
                            events(LoadEvent::Layer { id: l.diff_id.short().to_owned(), bytes: l.tar_len });
                            l
                        }
                        Some(Source::Spooled(file)) => {
                            let l =
                                self.layers().register(parent.as_ref(), std::fs::File::open(&file)?, &hold.holder)?;
                            let _ = std::fs::remove_file(&file);
                            check_diff_id(path, want, &l.diff_id)?;
                            events(LoadEvent::Layer { id: l.diff_id.short().to_owned(), bytes: l.tar_len });
                            l
                        }
                        Some(Source::Failed(why)) => {
                            return Err(ImageError::Invalid(format!("invalid layer {path}: {why}")));
                        }
                        None => return Err(ImageError::Invalid(format!("the archive has no layer {path}"))),
                    }
                };
                parent = Some(layer.chain_id);
            }
            let img = self.create(&config_raw, parent.as_ref(), None, &m.tags)?;
            if m.tags.is_empty() {
                events(LoadEvent::LoadedId(img.id.to_string()));
            }
            for t in &m.tags {
                events(LoadEvent::Loaded(t.familiar()));
            }
            loaded.push(img);
        }
        drop(hold);
        Ok(loaded)
    }

    /// Resolves what `docker save NAMES…` exports: each image with the tags to write for it (a
    /// `name:tag` gives that tag, a bare repository name every tag of it, an id none).
    pub fn plan_save(&self, names: &[String]) -> ImageResult<Vec<(Image, Vec<Reference>)>> {
        let mut plan: Vec<(Image, Vec<Reference>)> = Vec::new();
        for name in names {
            let mut found: Vec<(Image, Vec<Reference>)> = Vec::new();
            match Reference::parse_normalized(name) {
                Ok(r) if r.tag.is_none() && r.digest.is_none() => {
                    // Every tag of the repository, or else the name as an image id.
                    for img in self.all()? {
                        let tags: Vec<Reference> =
                            img.refs.iter().filter(|x| x.name() == r.name() && x.tag.is_some()).cloned().collect();
                        if !tags.is_empty() {
                            found.push((img, tags));
                        }
                    }
                    if found.is_empty() {
                        let hexish = name.bytes().all(|b| b.is_ascii_hexdigit());
                        let img =
                            self.resolve(name).map_err(|e| if hexish { e } else { ImageError::ReferenceNotFound })?;
                        found.push((img, Vec::new()));
                    }
                }
                Ok(r) => {
                    let img = self.resolve(name).map_err(|_| ImageError::ReferenceNotFound)?;
                    let tagged = img.refs.contains(&r);
                    found.push((img, if tagged { vec![r] } else { Vec::new() }));
                }
                Err(_) => found.push((self.resolve(name)?, Vec::new())),
            }
            for (img, tags) in found {
                match plan.iter_mut().find(|(i, _)| i.id == img.id) {
                    Some((_, existing)) => {
                        for t in tags {
                            if !existing.contains(&t) {
                                existing.push(t);
                            }
                        }
                    }
                    None => plan.push((img, tags)),
                }
            }
        }
        Ok(plan)
    }

    /// Writes the archive of `plan` (see [`ImageStore::plan_save`]) to `out`.
    pub fn save(&self, plan: &[(Image, Vec<Reference>)], out: &mut dyn Write) -> ImageResult<()> {
        let mut w = TarWriter { out };
        w.dir("blobs/")?;
        w.dir("blobs/sha256/")?;
        let mut written: HashSet<String> = HashSet::new();
        let mut manifest_json = Vec::new();
        let mut index = Vec::new();
        let mut repositories: serde_json::Map<String, Value> = serde_json::Map::new();
        for (img, tags) in plan {
            let chain = match &img.top_layer {
                Some(top) => self.layers().chain(top)?,
                None => Vec::new(),
            };
            let mut layer_paths = Vec::new();
            let mut layer_descs = Vec::new();
            for l in &chain {
                let path = format!("blobs/sha256/{}", l.diff_id.hex());
                if written.insert(path.clone()) {
                    w.header(&path, l.tar_len)?;
                    let n = self.layers().write_tar(&l.chain_id, w.out)?;
                    if n != l.tar_len {
                        return Err(ImageError::Invalid(format!(
                            "layer {} rebuilt to {n} bytes, {} recorded",
                            l.chain_id, l.tar_len
                        )));
                    }
                    w.pad(n)?;
                }
                layer_descs.push(json!({"mediaType": OCI_LAYER, "digest": l.diff_id.to_string(), "size": l.tar_len}));
                layer_paths.push(path);
            }
            let config_path = format!("blobs/sha256/{}", img.id.hex());
            if written.insert(config_path.clone()) {
                w.file(&config_path, &img.config_raw)?;
            }
            let manifest = serde_json::to_vec(&json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": img.id.to_string(), "size": img.config_raw.len()},
                "layers": layer_descs,
            }))
            .map_err(|e| ImageError::Invalid(e.to_string()))?;
            let manifest_digest = Digest::of(&manifest);
            let manifest_path = format!("blobs/sha256/{}", manifest_digest.hex());
            if written.insert(manifest_path.clone()) {
                w.file(&manifest_path, &manifest)?;
            }
            let desc = |annotations: Option<Value>| {
                let mut d =
                    json!({"mediaType": OCI_MANIFEST, "digest": manifest_digest.to_string(), "size": manifest.len()});
                if let Some(a) = annotations {
                    d["annotations"] = a;
                }
                d
            };
            if tags.is_empty() {
                index.push(desc(None));
            }
            for t in tags {
                index.push(desc(Some(json!({
                    ANNOTATION_IMAGE_NAME: t.full(),
                    ANNOTATION_REF_NAME: t.tag.clone().unwrap_or_default(),
                }))));
                if let (Some(tag), Some(top)) = (&t.tag, chain.last()) {
                    let repo = repositories.entry(t.familiar_name()).or_insert_with(|| json!({}));
                    repo[tag.as_str()] = Value::from(top.diff_id.hex());
                }
            }
            manifest_json.push(json!({
                "Config": config_path,
                "RepoTags": if tags.is_empty() { Value::Null } else { Value::from(tags.iter().map(Reference::familiar).collect::<Vec<_>>()) },
                "Layers": layer_paths,
            }));
        }
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index});
        let to_vec = |v: &Value| serde_json::to_vec(v).map_err(|e| ImageError::Invalid(e.to_string()));
        w.file("index.json", &to_vec(&index)?)?;
        w.file("manifest.json", &to_vec(&Value::from(manifest_json))?)?;
        w.file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        if !repositories.is_empty() {
            w.file("repositories", &to_vec(&Value::Object(repositories))?)?;
        }
        w.out.write_all(&[0u8; 2 * BLOCK as usize])?;
        w.out.flush()?;
        Ok(())
    }
}

/// `docker commit` options.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    pub container_id: String,
    /// The container's config (becomes `container_config` and, with `changes`, `config`).
    pub container_config: Value,
    pub changes: Vec<String>,
    pub author: String,
    pub comment: String,
    pub tag: Option<Reference>,
}

fn check_diff_id(path: &str, want: &Digest, got: &Digest) -> ImageResult<()> {
    if want == got {
        Ok(())
    } else {
        Err(ImageError::Invalid(format!("invalid diffID for layer {path}: expected {want}, got {got}")))
    }
}

fn invalid_archive(e: &io::Error) -> ImageError {
    ImageError::Invalid(format!("invalid archive: {e}"))
}

/// An archive path, relative and without `.`; `None` for the root or anything with `..`.
fn clean(p: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(x) => parts.push(x.to_str()?.to_owned()),
            Component::CurDir | Component::RootDir => {}
            _ => return None,
        }
    }
    if parts.is_empty() { None } else { Some(parts.join("/")) }
}

/// Removes a directory when dropped.
struct DirGuard(PathBuf);

impl Drop for DirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A file of the archive.
enum Source {
    Memory(Vec<u8>),
    Staged(Staged),
    Spooled(PathBuf),
    Failed(String),
}

/// One image to load.
struct ManifestEntry {
    config: String,
    layers: Vec<String>,
    tags: Vec<Reference>,
}

#[derive(Default)]
struct Archive {
    files: HashMap<String, Source>,
    aliases: HashMap<String, String>,
}

impl Archive {
    fn resolve(&self, name: &str) -> String {
        let mut n = name.to_owned();
        for _ in 0..8 {
            match self.aliases.get(&n) {
                Some(t) => n = t.clone(),
                None => break,
            }
        }
        n
    }

    fn take(&mut self, name: &str) -> Option<Source> {
        let n = self.resolve(name);
        match self.files.get(&n) {
            Some(Source::Memory(b)) => Some(Source::Memory(b.clone())),
            _ => self.files.remove(&n),
        }
    }

    fn json_bytes(&self, name: &str) -> ImageResult<Vec<u8>> {
        match self.files.get(&self.resolve(name)) {
            Some(Source::Memory(b)) if b.len() <= JSON_MAX => Ok(b.clone()),
            Some(Source::Spooled(p)) => Ok(std::fs::read(p)?),
            _ => Err(ImageError::Invalid(format!("the archive has no file {name}"))),
        }
    }

    fn json(&self, name: &str) -> ImageResult<Value> {
        let bytes = self.json_bytes(name)?;
        serde_json::from_slice(&bytes).map_err(|e| ImageError::Invalid(format!("invalid {name}: {e}")))
    }

    /// The images of the archive: `manifest.json` when present (both layouts of Docker have
    /// it), else the OCI `index.json`.
    fn manifests(&self) -> ImageResult<Vec<ManifestEntry>> {
        if self.files.contains_key("manifest.json") {
            let list = self.json("manifest.json")?;
            let items =
                list.as_array().ok_or_else(|| ImageError::Invalid("invalid manifest.json: not a list".into()))?;
            let mut out = Vec::new();
            for item in items {
                let config = item["Config"]
                    .as_str()
                    .ok_or_else(|| ImageError::Invalid("invalid manifest.json: no Config".into()))?;
                let layers = item["Layers"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default();
                let mut tags = Vec::new();
                for t in item["RepoTags"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                    tags.push(Reference::parse_normalized(t)?.with_default_tag());
                }
                out.push(ManifestEntry { config: config.to_owned(), layers, tags });
            }
            return Ok(out);
        }
        if self.files.contains_key("index.json") {
            let index = self.json("index.json")?;
            let mut out = Vec::new();
            self.oci_index(&index, &mut out, 0)?;
            return Ok(out);
        }
        Ok(Vec::new())
    }

    fn blob_path(digest: &str) -> ImageResult<String> {
        let (alg, hex) =
            digest.split_once(':').ok_or_else(|| ImageError::Invalid(format!("invalid digest {digest:?}")))?;
        Ok(format!("blobs/{alg}/{hex}"))
    }

    fn oci_index(&self, index: &Value, out: &mut Vec<ManifestEntry>, depth: usize) -> ImageResult<()> {
        const MAX_NESTING: usize = 4;
        if depth > MAX_NESTING {
            return Err(ImageError::Invalid("index.json: indexes nested too deep".into()));
        }
        for desc in index["manifests"].as_array().into_iter().flatten() {
            let media = desc["mediaType"].as_str().unwrap_or("");
            let digest = desc["digest"].as_str().unwrap_or("");
            if media == OCI_INDEX || media == DOCKER_MANIFEST_LIST {
                let nested = self.json(&Self::blob_path(digest)?)?;
                // A multi-platform index: only this machine's platform.
                let mut mine = nested.clone();
                if let Some(list) = mine["manifests"].as_array_mut() {
                    list.retain(|d| {
                        d.get("platform").is_none_or(|p| p["os"] == "linux" && p["architecture"] == go_arch())
                    });
                }
                self.oci_index(&mine, out, depth + 1)?;
                continue;
            }
            let manifest = self.json(&Self::blob_path(digest)?)?;
            let config = Self::blob_path(manifest["config"]["digest"].as_str().unwrap_or(""))?;
            let layers = manifest["layers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| Self::blob_path(l["digest"].as_str().unwrap_or("")))
                .collect::<ImageResult<Vec<_>>>()?;
            let mut tags = Vec::new();
            if let Some(name) = desc["annotations"][ANNOTATION_IMAGE_NAME].as_str() {
                tags.push(Reference::parse_normalized(name)?.with_default_tag());
            }
            match out.iter_mut().find(|e| e.config == config) {
                Some(e) => e.tags.extend(tags),
                None => out.push(ManifestEntry { config, layers, tags }),
            }
        }
        Ok(())
    }
}

/// Writes tar entries of an archive being generated.
struct TarWriter<'a> {
    out: &'a mut dyn Write,
}

impl TarWriter<'_> {
    fn head(&mut self, path: &str, size: u64, kind: tar::EntryType, mode: u32) -> io::Result<()> {
        let mut h = tar::Header::new_ustar();
        h.set_path(path)?;
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(kind);
        h.set_cksum();
        self.out.write_all(h.as_bytes())
    }

    fn dir(&mut self, path: &str) -> io::Result<()> {
        self.head(path, 0, tar::EntryType::Directory, 0o755)
    }

    fn header(&mut self, path: &str, size: u64) -> io::Result<()> {
        self.head(path, size, tar::EntryType::Regular, 0o444)
    }

    fn pad(&mut self, size: u64) -> io::Result<()> {
        let rem = (BLOCK - size % BLOCK) % BLOCK;
        self.out.write_all(&[0u8; BLOCK as usize][..rem as usize])
    }

    fn file(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        self.header(path, data.len() as u64)?;
        self.out.write_all(data)?;
        self.pad(data.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use strata_layer::driver::overlay2::Overlay2;
    use strata_layer::driver::vfs::Vfs;
    use strata_layer::mount::RecordingMounter;
    use strata_layer::tarlayer::{add_file, tar_of};
    use strata_layer::{GraphDriver, LAYER_MIGRATIONS};
    use strata_store::Store;

    use super::*;
    use crate::store::{DeleteItem, IMAGE_MIGRATIONS, ListFilter};

    fn store(dir: &Path, vfs: bool) -> ImageStore {
        let db = Arc::new(Store::open_in_memory(&[LAYER_MIGRATIONS, IMAGE_MIGRATIONS]).expect("db"));
        let driver: Arc<dyn GraphDriver> = if vfs {
            Arc::new(Vfs::new(&dir.join("vfs/dir")).expect("vfs"))
        } else {
            Arc::new(Overlay2::new(&dir.join("overlay2"), Arc::new(RecordingMounter::default())).expect("overlay2"))
        };
        let layers = Arc::new(LayerStore::new(db.clone(), driver));
        ImageStore::new(db, layers, &dir.join("tmp"))
    }

    fn rootfs() -> Vec<u8> {
        tar_of(|b| {
            add_file(b, "bin/sh", &vec![1u8; 3 << 20], 0o755)?;
            add_file(b, "etc/passwd", b"root:x:0:0::/root:/bin/sh\n", 0o644)
        })
    }

    fn r(s: &str) -> Reference {
        Reference::parse_normalized(s).expect("ref")
    }

    #[test]
    fn import_tag_save_load_round_trip() {
        for vfs in [false, true] {
            let t = tempfile::tempdir().expect("tempdir");
            let a = store(&t.path().join("a"), vfs);
            let opts = ImportOptions {
                tag: Some(r("imp:1")),
                changes: vec![r#"CMD ["/bin/sh"]"#.into()],
                message: String::new(),
                source: "-".into(),
            };
            let img = a.import(rootfs().as_slice(), &opts).expect("import");
            assert_eq!(img.repo_tags(), vec!["imp:1"]);
            assert_eq!(img.config.comment, "Imported from -");
            assert_eq!(img.size, (3 << 20) + 26);
            a.tag("imp:1", &r("other")).expect("tag");
            assert_eq!(a.resolve("other").expect("other").id, img.id);
            assert_eq!(a.resolve(&img.id.hex()[..12]).expect("prefix").id, img.id);
            assert!(matches!(a.resolve("nosuch:1"), Err(ImageError::NotFound(m)) if m == "nosuch:1"));

            let plan = a.plan_save(&["imp".to_owned()]).expect("plan");
            let mut saved = Vec::new();
            a.save(&plan, &mut saved).expect("save");
            let b = store(&t.path().join("b"), vfs);
            let mut events = Vec::new();
            let loaded = b.load(saved.as_slice(), &mut |e| events.push(e)).expect("load");
            assert_eq!(loaded[0].id, img.id, "the same config bytes, the same id");
            assert!(events.contains(&LoadEvent::Loaded("imp:1".into())), "{events:?}");
            // The layer tar inside the archive is the one imported, bit for bit.
            let mut again = Vec::new();
            b.save(&b.plan_save(&["imp:1".to_owned()]).expect("plan"), &mut again).expect("save b");
            assert_eq!(Digest::of(&saved), Digest::of(&again));

            // Untag vs delete.
            let del = a.delete("other", false, true).expect("untag");
            assert_eq!(del, vec![DeleteItem::Untagged("other:latest".into())]);
            let del = a.delete("imp:1", false, true).expect("delete");
            assert_eq!(del[0], DeleteItem::Untagged("imp:1".into()));
            assert_eq!(del[1], DeleteItem::Deleted(img.id.to_string()));
            assert_eq!(del.len(), 3, "{del:?}");
            assert!(a.list(&ListFilter::default()).expect("list").is_empty());
        }
    }

    #[test]
    fn delete_conflicts_read_like_dockers() {
        let t = tempfile::tempdir().expect("tempdir");
        let a = store(t.path(), false);
        let img = a
            .import(rootfs().as_slice(), &ImportOptions { tag: Some(r("x:1")), ..Default::default() })
            .expect("import");
        a.tag("x:1", &r("y:1")).expect("tag");
        let err = a.delete(&img.id.hex()[..12], false, true).expect_err("multi repo");
        assert_eq!(
            err.to_string(),
            format!(
                "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                img.id.short()
            )
        );
        let del = a.delete(&img.id.hex()[..12], true, true).expect("forced");
        assert_eq!(del.iter().filter(|d| matches!(d, DeleteItem::Untagged(_))).count(), 2);
    }

    #[test]
    fn images_deeper_than_a_mount_can_stack_are_refused_at_load() {
        let t = tempfile::tempdir().expect("tempdir");
        let a = store(t.path(), false);
        let n = strata_layer::store::MAX_IMAGE_LAYERS + 1;
        let diff = Digest::of(b"x");
        let config = json!({"rootfs": {"type": "layers", "diff_ids": vec![diff.to_string(); n]}});
        let manifest = json!([{"Config": "c.json", "RepoTags": ["deep:1"], "Layers": vec!["l.tar"; n]}]);
        let archive = tar_of(|b| {
            add_file(b, "c.json", config.to_string().as_bytes(), 0o644)?;
            add_file(b, "manifest.json", manifest.to_string().as_bytes(), 0o644)
        });
        let err = a.load(archive.as_slice(), &mut |_| {}).expect_err("too deep");
        assert!(err.to_string().contains("max depth exceeded: the image has 500 layers"), "{err}");
    }
}
