//! A container's filesystem as the container sees it: its root filesystem with its volumes,
//! bind mounts and tmpfs mounts at their destinations.
//!
//! This is what `docker cp` (`HEAD`/`GET`/`PUT /containers/{id}/archive`) and `docker export`
//! work on, for running and stopped containers alike. The engine describes the view
//! ([`ContainerView`]: a rootfs path and the mounts) and calls plain blocking functions with a
//! `Read` or `Write`; HTTP stays in `strata-api`, which maps [`ViewError::status_class`] to a
//! status.
//!
//! | request | call |
//! |---|---|
//! | `HEAD /archive?path=` | [`stat_path`] → [`PathStat::header_value`] |
//! | `GET /archive?path=` | [`prepare_archive`] (404 before the body) → [`PreparedArchive::stat`] for the header → [`PreparedArchive::write_to`] |
//! | `PUT /archive?path=&noOverwriteDirNonDir=&copyUIDGID=` | [`extract`] |
//! | `GET /export` | [`export`] |
//! | `GET /changes` | `strata_layer::LayerStore::rw_changes` (read natively from the overlay upper dir, in Docker's order and with its rules); keep runtime mount points out of it with [`populate_init_layer`] in `create_rw`'s init callback |
//!
//! Paths are resolved inside the view ([`view`] explains how): symlinks as the container sees
//! them, never reaching the host outside the rootfs and the mount sources. Archives go through
//! `strata-archive`, whose extractor and packer are confined the same way.
//!
//! Everything blocks: call from `spawn_blocking`.

mod archive;
mod error;
pub mod gocompat;
pub mod init_layer;
pub mod view;

pub use archive::{ExtractOptions, PathStat, PreparedArchive, export, extract, prepare_archive, stat_path};
pub use error::{StatusClass, ViewError};
pub use init_layer::populate_init_layer;
pub use view::{ContainerView, MAX_SYMLINKS, MountKind, ViewMount, resolve};
