//! Layers: the layer store and the graph drivers under it.
//!
//! A layer is the content of one layer tar, applied to a directory. This crate owns
//!
//! - **identity** ([`id`]): diff ids, chain ids and the random directory names (cache ids);
//! - **the layer store** ([`store::LayerStore`]): registration (apply into a staging directory,
//!   flush, publish in one transaction), sharing by chain id, references held in the metadata
//!   database, garbage collection, bit-exact export through a tar-split, the read-write layers of
//!   containers, and the start-up reconcile that makes `kill -9` at any moment harmless;
//! - **graph drivers** ([`driver`]): `overlay2` (Docker's layout, mounted with the new mount API
//!   so images of up to [`store::MAX_IMAGE_LAYERS`] layers run) and `vfs` (full copies);
//! - **mounts** ([`mount`]) behind a trait with a kernel and a recording implementation.
//!
//! # For the container service
//!
//! Everything a container needs from its layers goes through [`store::LayerStore`] with the
//! container id as the key:
//!
//! | need | call |
//! |---|---|
//! | create the init + read-write layers on an image's top chain id; `init` writes `/etc/hosts` and friends into the init layer | [`LayerStore::create_rw`](store::LayerStore::create_rw) |
//! | mount / unmount the root filesystem (reference-counted; returns the merged path) | [`mount_rw`](store::LayerStore::mount_rw) / [`unmount_rw`](store::LayerStore::unmount_rw) |
//! | `GraphDriver.Data` for `docker inspect` | [`rw_data`](store::LayerStore::rw_data) (images: [`graph_data`](store::LayerStore::graph_data)) |
//! | `docker diff` (Kind 0/1/2, read natively from the upper dir on overlay2) | [`rw_changes`](store::LayerStore::rw_changes) |
//! | `SizeRw` | [`rw_size`](store::LayerStore::rw_size) |
//! | `docker commit`: the changes as a layer tar, then a new layer on the image's chain | [`rw_diff_tar`](store::LayerStore::rw_diff_tar) then [`register`](store::LayerStore::register) (the image side is `strata_image::ImageStore::commit`) |
//! | remove the container's layers | [`remove_rw`](store::LayerStore::remove_rw) |
//! | start-up: read-write layers whose container is gone | [`all_rw`](store::LayerStore::all_rw), then `remove_rw` |
//!
//! The row in `rw_layers` references the image's top layer, so an image layer can never be
//! collected under a container. Mounts are counted in memory and all of them are undone at
//! start (strata does not keep containers running across a daemon restart).
//!
//! The init callback writes into the init layer's directory (not a mount): paths are relative to
//! the container's root. `rw_changes` reads only the read-write layer, so what the init layer
//! holds (`/etc/hosts`, …) never shows in `docker diff`, as with Docker. For commit, stream
//! `rw_diff_tar` into `strata_image::ImageStore::commit` through a pipe (`std::io::pipe` and a
//! thread): the tar is never held whole.
//!
//! All calls block (file I/O, mounts, SQLite): call them from `spawn_blocking`.

pub mod driver;
pub mod failpoint;
pub mod id;
pub mod mount;
pub mod store;
pub mod tarlayer;

pub use driver::{Change, ChangeKind, DriverKind, GraphDriver};
pub use id::{ChainId, DiffId, Digest};
pub use store::{LAYER_MIGRATIONS, Layer, LayerError, LayerStore, RwLayer};
