//! What the store's people and products are, and the rules they follow: no I/O, and nothing
//! from the store, the edge or auth.

pub mod audit;
pub mod body;
pub mod catalog;
pub mod export;
pub mod ids;
pub mod millis;
pub mod notification;
pub mod preferred;
pub mod report;
pub mod scoring;
pub mod supervisor_request;
pub mod text;
pub mod validation;
