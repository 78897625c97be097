//! Textline: an SMS hotline gateway for anti-trafficking and crisis hotlines.
//!
//! `ARCHITECTURE.md` beside the README has the code map and the invariants.

pub mod audit;
pub mod catalog;
pub mod channels;
pub mod cli;
pub mod clock;
pub mod config;
pub mod contacts;
pub mod inbound;
pub mod jobs;
pub mod key_rotation;
pub mod live;
pub mod notify;
pub mod outbox;
pub mod privacy;
pub mod providers;
pub mod retention;
pub mod sms;
pub mod staff;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tickets;
pub mod web;
