//! DynamoDB: the key schema ([`keys`]), the attribute names ([`attributes`]), domain values
//! as attributes ([`codec`]), the plumbing both tables share ([`table`]), and the stores built
//! on them.

pub mod attributes;
pub mod catalog;
pub mod codec;
pub mod connections;
pub mod cursor;
pub mod idempotency;
pub mod keys;
pub mod reports;
pub mod requests;
/// Development only: creating the tables (local runs, tests, benchmarks).
#[cfg(feature = "dev")]
pub mod schema;
pub mod table;
