//! The JSON API under `/api/v1`. Every handler names the role it requires in its signature.

pub mod contacts;
pub mod simulator;
pub mod staff;
pub mod tickets;
