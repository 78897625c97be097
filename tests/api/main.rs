//! Textline's HTTP and command-line tests, one binary so they share a build.

mod audit;
mod auth;
mod body_limits;
mod cli;
mod configuration;
mod fakes;
mod health;
mod helpers;
mod key_rotation;
mod master_key;
mod migrations;
mod outbox;
mod privacy;
mod provider_clients;
mod setup;
mod shutdown;
mod simulator;
mod store;
mod tickets;
mod webhooks;
