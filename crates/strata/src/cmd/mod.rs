//! One module per command group.

pub mod container;
pub mod cp;
pub mod create;
pub mod exec;
pub mod image;
pub mod system;
pub mod system_df;
pub mod volume;
