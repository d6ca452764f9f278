//! edgehook: verify browser-agent webhooks at the edge, normalize them into CloudEvents,
//! drop replays and duplicates, and forward them signed with Standard Webhooks.
//!
//! The core modules are pure and take `now` as an argument: [`canonical`], [`providers`],
//! [`envelope`], [`config`], [`signing`].

#![forbid(unsafe_code)]

pub mod canonical;
pub mod config;
pub mod envelope;
pub mod error;
pub mod providers;
pub mod secret;
pub mod signing;

pub use envelope::{accept, Envelope, Status};
pub use error::Error;
pub use providers::{Delivery, Headers, Provider};
pub use secret::Secret;
