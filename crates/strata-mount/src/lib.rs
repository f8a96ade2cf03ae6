//! Container mounts the way the Docker Engine API defines them: what `docker run -v`, `--mount`,
//! `--tmpfs`, `--volumes-from`, `--read-only`, `--volume-driver` and the image's `VOLUME`s send,
//! validated and merged into one ordered [`MountPlan`].
//!
//! Why a crate of its own: the meaning of these flags is large, full of precedence rules and
//! historical quirks, and entirely observable — error texts and status classes, which source wins
//! at a destination, the `Mounts` fields of `docker inspect`. Keeping it pure logic (no I/O
//! besides the two lookups behind [`HostFs`] and [`ContainerMounts`], no HTTP) lets every rule be
//! pinned by a table of real CLI cases, and lets the engine (which creates volumes and mounts
//! things) and the API layer (which maps [`ErrorClass`] to status codes) stay thin.
//!
//! The flow: the API decodes the create body into the [`spec`] types and a [`MountRequest`];
//! [`plan_mounts`] checks it with the request's [`ApiVersion`] and returns the plan or Docker's
//! error; the engine gets or creates the plan's volumes and records them with
//! [`PlannedMount::set_volume`], stores the plan, answers `docker inspect` with
//! [`MountPlan::inspect_mounts`], and at start runs [`MountPlan::validate_at_start`] and builds the
//! OCI mounts with [`PlannedMount::oci_mount`].

pub mod api_version;
pub mod binds;
pub mod error;
pub mod gocompat;
pub mod host;
pub mod inspect;
pub mod oci;
pub mod plan;
pub mod propagation;
pub mod spec;
pub mod tmpfs;
pub mod validate;
pub mod volume_name;

pub use api_version::ApiVersion;
pub use error::{ConfigProblem, ErrorClass, MountError};
pub use host::{ContainerMounts, HostFs, NoContainers, RealHostFs};
pub use inspect::MountPoint;
pub use oci::{OciMount, RecursiveReadOnly};
pub use plan::{
    ANONYMOUS_VOLUME_LABEL, BindMount, ImageMount, MountKind, MountOrigin, MountPlan, MountRequest, PlanContext,
    PlannedMount, TmpfsMount, VolumeMount, VolumeName, normalize_mounts, plan_mounts,
};
pub use propagation::Propagation;
pub use spec::{BindOptions, Driver, ImageOptions, Mount, MountType, TmpfsOptions, VolumeOptions};
