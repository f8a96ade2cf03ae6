//! Images: references, configs, the image store, and the ways images come and go.
//!
//! - [`reference`]: Docker's reference grammar and normalisation (`busybox` is
//!   `docker.io/library/busybox:latest`), with Docker's error texts, and the `--filter
//!   reference=` glob;
//! - [`config`]: image configs kept as their exact bytes (the image id is their sha256) and read
//!   through a parsed view; Dockerfile-style `changes`; the API 1.50 trimming of `Config`;
//! - [`store::ImageStore`]: images and tags in the metadata database, each image holding its top
//!   layer in the layer store in the same transaction that records it; lookup by name, id or id
//!   prefix; Docker's `rmi` rules (untag vs delete, forced or not, 409 conflicts);
//!   list filters, history;
//! - [`transfer`]: import of a root filesystem tar, load of `docker save` archives (legacy and
//!   OCI layouts, layers applied while the archive streams in), save (OCI layout plus
//!   `manifest.json`), and commit.
//!
//! # For the container service
//!
//! - `ImageStore::resolve(name_or_id)` gives an [`store::Image`]: its `config` (the container
//!   defaults: `Cmd`, `Entrypoint`, `Env`, `WorkingDir`, `Volumes`, …) and `top_layer`, the chain
//!   id to pass to `LayerStore::create_rw`. A missing image is `ImageError::NotFound`, which the
//!   API answers with 404 `No such image: …` (what makes the CLI try a pull).
//! - `ImageStore::commit(parent, diff_tar, options)` records a committed image; the diff tar comes
//!   from `LayerStore::rw_diff_tar`.
//! - `ImageStore::set_usage` installs the answer to "which containers use this image" (an
//!   [`store::ImageUsage`]); until it is set no image is in use, and rmi never conflicts with
//!   containers.
//!
//! All calls block: run them in `spawn_blocking`.

pub mod config;
pub mod reference;
pub mod store;
pub mod transfer;
pub mod usage;

pub use reference::Reference;
pub use store::{ImageError, ImageStore, is_full_hex_id};
pub use transfer::{CommitOptions, ImportOptions, LoadEvent};
