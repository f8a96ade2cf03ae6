//! One module per command group.

pub mod system;
pub mod volume;
