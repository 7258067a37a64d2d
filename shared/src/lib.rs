//! Store Services: what every function shares, one folder per layer. Imports run one way:
//! `edge` → `store`, `auth` → `domain`; `telemetry` is beside them all and imports none of them
//! (a test, `layers_import_one_way`, holds it).
//!
//! - [`domain`]: supervisor requests and their life cycle, the audit trail, the catalogue and
//!   its scoring, ids, validation. Types that cannot hold invalid values; no I/O.
//! - [`store`]: the key schema of the tables ([`store::keys`], the one place that knows it),
//!   the codec, the table plumbing, the request and catalogue stores, idempotency records,
//!   WebSocket connections and sealed cursors. Says what went wrong in the store's words.
//! - [`auth`]: token verification and the caller ([`auth::principal`]) with the permission
//!   table. Refusals are its own reasons.
//! - [`edge`]: the transport-neutral request and response, the one error type and its one
//!   mapping to HTTP, the route table, paging, settings and the Lambda adapter.
//! - [`telemetry`]: embedded metrics, DynamoDB call telemetry and X-Ray subsegments.

pub mod auth;
pub mod domain;
pub mod edge;
pub mod store;
pub mod telemetry;

#[cfg(test)]
mod edge_fuzz;
#[cfg(test)]
mod layers;

pub use edge::config::App;
pub use edge::error::ApiError;

/// mimalloc for every binary that links this crate: the SDK's per-call pipeline allocates
/// hundreds of small objects, and glibc's malloc made up a fifth of a warm invocation
/// (BENCHMARKS.md, "Warm handler overhead").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
