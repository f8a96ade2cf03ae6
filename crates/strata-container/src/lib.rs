//! Containers: their records in the metadata store, names, states, and the lifecycle that
//! brings an image's layers, volumes, bind and tmpfs mounts and the OCI runtime together.

pub mod name;
pub mod record;
pub mod spec;
pub mod state;
