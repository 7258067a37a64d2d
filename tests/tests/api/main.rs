//! One test binary for every handler test: each binary links the SDK, so one keeps builds lean.

mod authorization;
mod bodies;
mod configuration;
mod consistency;
mod console;
mod credentials;
mod faults;
mod gateway;
mod identity;
mod live;
mod operability;
mod preferred_items;
mod reports;
mod request_costs;
mod server;
pub mod service_models;
mod supervisor_requests;
mod workflow;
