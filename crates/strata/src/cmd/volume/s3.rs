//! `s3://bucket/prefix` backup destinations, through the `object_store` crate.
//!
//! The layout is the directory layout as object keys: `<prefix>/<id>.tar.zst` (a multipart
//! upload) and `<prefix>/<id>.manifest.json`, put only after the data upload completed — so an
//! interrupted backup (a cut connection, a killed CLI) leaves at most an incomplete multipart
//! upload (aborted when the CLI can) or a data object without a manifest, which listings,
//! restores and retention ignore.
//!
//! Endpoint, region and credentials come from the standard AWS variables (`AWS_ENDPOINT_URL`,
//! `AWS_REGION`/`AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`) or the `--endpoint-url`/`--region` flags. TLS uses rustls with the
//! `ring` provider (aws-lc-rs would add minutes to every clean build for no gain here).

use std::sync::{Arc, Once};

use anyhow::{Context, bail};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use strata_backup::Manifest;
use strata_backup::dir::{DATA_SUFFIX, MANIFEST_SUFFIX};

/// Size of the parts of a multipart upload.
const PART_SIZE: usize = 16 << 20;
/// Parts uploaded at once.
const PARTS_IN_FLIGHT: usize = 4;
/// Region used when none is configured (what most S3-compatible servers accept).
const DEFAULT_REGION: &str = "us-east-1";

/// Where the S3 connection settings come from besides the environment.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct S3Flags {
    /// S3 endpoint for s3:// destinations (default: $AWS_ENDPOINT_URL, else AWS)
    #[arg(long = "endpoint-url", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// S3 region for s3:// destinations (default: $AWS_REGION, else us-east-1)
    #[arg(long = "region")]
    pub region: Option<String>,
}

/// Splits `s3://bucket/prefix` (the prefix may be empty).
pub fn parse(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then_some((bucket, prefix.trim_matches('/')))
}

/// A bucket and prefix holding backups.
#[derive(Debug, Clone)]
pub struct S3Dest {
    store: Arc<AmazonS3>,
    prefix: String,
    url: String,
}

fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Fails only when a provider is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl S3Dest {
    /// Connects (lazily: nothing is sent yet) to the bucket of `url`.
    pub fn open(url: &str, flags: &S3Flags) -> anyhow::Result<S3Dest> {
        let Some((bucket, prefix)) = parse(url) else {
            bail!("invalid S3 destination {url:?}: expected s3://bucket/prefix")
        };
        install_crypto_provider();
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = flags.endpoint_url.clone().or_else(|| env("AWS_ENDPOINT_URL")) {
            // A custom endpoint (MinIO, Ceph, Garage…) is addressed by path, and may be plain HTTP.
            builder = builder
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false)
                .with_endpoint(endpoint);
        }
        let region = flags
            .region
            .clone()
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let store = builder.with_region(region).build().with_context(|| format!("S3 destination {url}"))?;
        Ok(S3Dest { store: Arc::new(store), prefix: prefix.to_owned(), url: url.trim_end_matches('/').to_owned() })
    }

    fn key(&self, name: &str) -> ObjPath {
        if self.prefix.is_empty() { ObjPath::from(name) } else { ObjPath::from(format!("{}/{name}", self.prefix)) }
    }

    /// The URL of a backup's data object.
    pub fn data_url(&self, id: &str) -> String {
        format!("{}/{id}{DATA_SUFFIX}", self.url)
    }

    async fn exists(&self, name: &str) -> anyhow::Result<bool> {
        match self.store.head(&self.key(name)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// A fresh id for a backup of `volume` at `secs` (as [`strata_backup::dir::new_id`]).
    pub async fn new_id(&self, volume: &str, secs: i64) -> anyhow::Result<String> {
        let base = strata_backup::dir::id_for(volume, secs);
        let mut id = base.clone();
        let mut n = 1;
        while self.exists(&format!("{id}{MANIFEST_SUFFIX}")).await?
            || self.exists(&format!("{id}{DATA_SUFFIX}")).await?
        {
            n += 1;
            id = format!("{base}-{n}");
        }
        Ok(id)
    }

    /// Starts the multipart upload of a backup's data.
    pub async fn upload(&self, id: &str) -> anyhow::Result<Upload> {
        let upload = self.store.put_multipart(&self.key(&format!("{id}{DATA_SUFFIX}"))).await?;
        Ok(Upload { inner: WriteMultipart::new_with_chunk_size(upload, PART_SIZE) })
    }

    /// Writes a backup's manifest (the step that makes it exist).
    pub async fn put_manifest(&self, id: &str, manifest: &Manifest) -> anyhow::Result<()> {
        let mut text = serde_json::to_vec_pretty(manifest)?;
        text.push(b'\n');
        self.store.put(&self.key(&format!("{id}{MANIFEST_SUFFIX}")), text.into()).await?;
        Ok(())
    }

    /// The complete backups under the prefix: (id, manifest), ordered by volume, then time.
    pub async fn list(&self) -> anyhow::Result<Vec<(String, Manifest)>> {
        let prefix = (!self.prefix.is_empty()).then(|| ObjPath::from(self.prefix.as_str()));
        let mut names = std::collections::BTreeSet::new();
        let mut listing = self.store.list(prefix.as_ref());
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            if let Some(name) = meta.location.filename() {
                names.insert(name.to_owned());
            }
        }
        let mut out = Vec::new();
        for name in &names {
            let Some(id) = name.strip_suffix(MANIFEST_SUFFIX) else { continue };
            if !names.contains(&format!("{id}{DATA_SUFFIX}")) {
                eprintln!("warning: {}/{name}: its data object is missing", self.url);
                continue;
            }
            match self.manifest(id).await {
                Ok(m) => out.push((id.to_owned(), m)),
                Err(e) => eprintln!("warning: {}/{name}: {e:#}", self.url),
            }
        }
        out.sort_by(|a, b| {
            (a.1.volume.as_str(), a.1.created_secs(), &a.0).cmp(&(b.1.volume.as_str(), b.1.created_secs(), &b.0))
        });
        Ok(out)
    }

    /// The manifest of backup `id`.
    pub async fn manifest(&self, id: &str) -> anyhow::Result<Manifest> {
        let bytes = match self.store.get(&self.key(&format!("{id}{MANIFEST_SUFFIX}"))).await {
            Ok(r) => r.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => {
                bail!("{}/{id}: no such backup (give the .tar.zst or .manifest.json of a complete backup)", self.url)
            }
            Err(e) => return Err(e.into()),
        };
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{}/{id}{MANIFEST_SUFFIX}: not a backup manifest", self.url))
    }

    /// The data of backup `id`, streamed.
    pub async fn data(&self, id: &str) -> anyhow::Result<BoxStream<'static, Result<Bytes, object_store::Error>>> {
        Ok(self.store.get(&self.key(&format!("{id}{DATA_SUFFIX}"))).await?.into_stream())
    }

    /// Deletes backup `id`: the manifest first, then the data.
    pub async fn remove(&self, id: &str) -> anyhow::Result<()> {
        self.store.delete(&self.key(&format!("{id}{MANIFEST_SUFFIX}"))).await?;
        match self.store.delete(&self.key(&format!("{id}{DATA_SUFFIX}"))).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// A backup's data being uploaded.
pub struct Upload {
    inner: WriteMultipart,
}

impl Upload {
    /// Queues `data`, waiting while too many parts are in flight.
    pub async fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        self.inner.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        self.inner.write(data);
        Ok(())
    }

    /// Completes the upload.
    pub async fn finish(self) -> anyhow::Result<()> {
        self.inner.finish().await?;
        Ok(())
    }

    /// Abandons the upload (its parts are deleted by the server).
    pub async fn abort(self) {
        let _ = self.inner.abort().await;
    }
}

/// Splits an `s3://bucket/prefix/<id>.tar.zst` (or `.manifest.json`) into the destination URL
/// and the id.
pub fn split_backup_url(url: &str) -> Option<(String, String)> {
    let (dest, name) = url.rsplit_once('/')?;
    let id = name.strip_suffix(DATA_SUFFIX).or_else(|| name.strip_suffix(MANIFEST_SUFFIX))?;
    (parse(dest).is_some() && !id.is_empty()).then(|| (dest.to_owned(), id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        assert_eq!(parse("s3://b/x/y/"), Some(("b", "x/y")));
        assert_eq!(parse("s3://b"), Some(("b", "")));
        assert_eq!(parse("s3:///x"), None);
        assert_eq!(parse("/tmp"), None);
        assert_eq!(
            split_backup_url("s3://b/p/v_20261126T181212Z.tar.zst"),
            Some(("s3://b/p".to_owned(), "v_20261126T181212Z".to_owned()))
        );
        assert_eq!(split_backup_url("s3://b/v_1.manifest.json"), Some(("s3://b".to_owned(), "v_1".to_owned())));
        assert_eq!(split_backup_url("s3://b/p/other"), None);
    }
}
