//! One module per command group.

pub mod image;
pub mod system;
pub mod system_df;
pub mod volume;
