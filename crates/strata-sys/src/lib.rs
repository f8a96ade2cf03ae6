//! The kernel boundary of strata.
//!
//! Every other crate of the workspace denies `unsafe_code`; whatever needs a raw system call, an
//! `ioctl` or a parse of a kernel file lives here, behind a small safe function with a doc comment
//! that says what it does to the system. Most wrappers sit on `rustix`, which is already safe; the
//! few `unsafe` blocks (quota and btrfs `ioctl`s, `quotactl`, registering fds with tokio,
//! `sync_file_range`, `mallopt`) each carry a `// SAFETY:` comment.
//!
//! Keeping this surface small is what lets the rest of the engine be tested without root: the
//! crates above put these calls behind traits with a real and a recording implementation.
#![allow(unsafe_code)]

pub mod allocator;
pub mod async_fd;
pub mod btrfs;
pub mod du;
pub mod fsprobe;
pub mod lock;
pub mod mountcall;
pub mod mountinfo;
pub mod parallel;
pub mod process;
pub mod quota;
pub mod random;
pub mod writeback;
