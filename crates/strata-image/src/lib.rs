//! Images: references, configs, the image store, and the ways images come and go (import, load,
//! save).
pub mod config;
pub mod reference;
pub mod store;

pub use reference::Reference;
pub use store::{ImageError, ImageStore, is_full_hex_id};
pub mod transfer;

pub use transfer::{CommitOptions, ImportOptions, LoadEvent};
