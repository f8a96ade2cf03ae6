//! Containers: their records in the metadata store, names, states, and the lifecycle that
//! brings an image's layers, volumes, bind and tmpfs mounts and the OCI runtime together
//! ([`service::Containers`]).

pub mod copyup;
pub mod error;
pub mod events;
pub mod exec;
pub mod freeze;
pub mod health;
pub mod imageconfig;
pub mod logconfig;
pub mod name;
pub mod record;
pub mod service;
pub mod spec;
pub mod state;

pub use error::{Class, ContainerError};
pub use service::{
    AttachWait, Attachment, Containers, ContainersConfig, Created, Progress, RemoveOptions, WaitCondition,
};
