pub mod clients;
pub mod pacing;
pub mod retry;
pub mod send;
