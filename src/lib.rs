//! edgehook: verify browser-agent webhooks at the edge, normalize them into CloudEvents,
//! drop replays and duplicates, and forward them signed with Standard Webhooks.
//!
//! The core modules are pure and take `now` as an argument: [`canonical`], [`providers`],
//! [`envelope`], [`status`], [`config`], [`destinations`], [`signing`], [`routes`], [`forward`], [`admin`]. The
//! `edge` module (wasm only) is the one place that touches the Workers runtime; `cli` (native
//! only) is the `edgehook` command.

#![forbid(unsafe_code)]

pub mod admin;
pub mod canonical;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod config;
pub mod destinations;
pub mod envelope;
pub mod error;
pub mod forward;
pub mod nesting;
pub mod providers;
pub mod routes;
pub mod secret;
pub mod signing;
pub mod status;

#[cfg(target_arch = "wasm32")]
mod edge;

pub use envelope::{accept, Envelope};
pub use error::Error;
pub use providers::{Delivery, Headers, Provider};
pub use secret::Secret;
pub use status::Status;
