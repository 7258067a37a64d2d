//! Where requests come in: the transport-neutral request and response ([`http`]), the one
//! error type and its mapping to HTTP ([`error`]), the route table, paging, CORS, settings and
//! the Lambda adapter.

pub mod config;
pub mod cors;
pub mod error;
pub mod http;
pub mod lambda;
pub mod pagination;
pub mod routes;
