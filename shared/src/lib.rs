//! Store Services: what every function shares.
//!
//! - [`keys`]: the DynamoDB key schema of both tables and their access patterns, in one place;
//!   [`codec`]: domain values to attributes and back.
//! - [`supervisor_request`], [`catalog`], [`ids`]: domain types that cannot hold invalid
//!   values; [`validation`]: what they say when input breaks a rule.
//! - [`store`], [`catalog_store`]: the stores over aws-sdk-dynamodb, on [`table`]'s plumbing;
//!   [`idempotency`]: the retry-safe create protocol.
//! - [`error`]: the one error type and its one mapping to HTTP.
//! - [`principal`]: the caller, as the authorizer established it, and the permission table.
//! - [`http`], [`cursor`], [`config`], [`lambda`]: the edges.

pub mod audit;
pub mod auth;
pub mod body;
pub mod catalog;
pub mod catalog_store;
pub mod codec;
pub mod config;
pub mod connections;
pub mod cors;
pub mod cursor;
pub mod emf;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod keys;
pub mod lambda;
/// Development only: counting DynamoDB requests (tests, benchmarks).
#[cfg(feature = "dev")]
pub mod metrics;
pub mod millis;
pub mod notification;
pub mod pagination;
pub mod preferred;
pub mod principal;
pub mod routes;
/// Development only: creating the tables (local runs, tests, benchmarks).
#[cfg(feature = "dev")]
pub mod schema;
pub mod scoring;
pub mod store;
pub mod supervisor_request;
pub mod table;
pub mod telemetry;
pub mod text;
pub mod validation;

#[cfg(test)]
mod edge_fuzz;

pub use config::App;

/// mimalloc for every binary that links this crate: the SDK's per-call pipeline allocates
/// hundreds of small objects, and glibc's malloc made up a fifth of a warm invocation
/// (BENCHMARKS.md, "Warm handler overhead").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
pub use error::ApiError;
