//! One test binary for every handler test: each binary links the SDK, so one keeps builds lean.

mod authorization;
mod supervisor_requests;
