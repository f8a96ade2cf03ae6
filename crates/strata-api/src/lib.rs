//! The Docker Engine API, served on unix sockets.
//!
//! This crate is the daemon's only HTTP-aware part and it is deliberately thin: it parses
//! requests (path, query, JSON bodies), calls the engine, and writes Docker's response shapes,
//! status codes and headers. Anything that is a decision about containers, images or volumes
//! belongs to the engine crates, which can be tested without a socket.
//!
//! - [`router`]: version prefix and negotiation, common headers, dispatch, 404s, panics → 500.
//! - [`routes`]: one module per API area.
//! - [`http`]: bodies, JSON, query strings and filters.
//! - [`server`]: the accept loop and graceful shutdown.

mod blocking_io;
pub mod error;
pub mod http;
pub mod router;
pub mod routes;
pub mod server;
pub mod version;

pub use error::{ApiError, ApiResult};
pub use server::{bind_socket, serve};
