//! Layers (placeholder; filled below).
pub mod driver;
pub mod id;
pub mod mount;
pub mod tarlayer;
