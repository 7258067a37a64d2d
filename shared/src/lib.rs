//! Store Services: what every function shares.
//!
//! - [`keys`]: the DynamoDB key schema and its access patterns, in one place.
//! - [`supervisor_request`], [`ids`]: domain types that cannot hold invalid values.
//! - [`store`]: the store over aws-sdk-dynamodb.
//! - [`error`]: the one error type and its one mapping to HTTP.
//! - [`principal`]: the caller, as the authorizer established it, and the permission table.
//! - [`http`], [`cursor`], [`config`], [`lambda`]: the edges.

pub mod auth;
pub mod catalog;
pub mod catalog_store;
pub mod config;
pub mod cursor;
pub mod error;
pub mod http;
pub mod ids;
pub mod keys;
pub mod lambda;
pub mod metrics;
pub mod millis;
pub mod pagination;
pub mod principal;
pub mod routes;
pub mod schema;
pub mod scoring;
pub mod store;
pub mod supervisor_request;
pub mod text;

#[cfg(test)]
mod edge_fuzz;

pub use config::App;

/// mimalloc for every binary that links this crate: the SDK's per-call pipeline allocates
/// hundreds of small objects, and glibc's malloc made up a fifth of a warm invocation
/// (BENCHMARKS.md, "Warm handler overhead").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
pub use error::ApiError;
