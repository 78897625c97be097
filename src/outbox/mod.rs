//! The outbox: every text Textline sends waits here, written in the transaction that caused
//! it, until the worker sends it at the channel's pace, through the gates that protect the
//! texter (opt-out, erase, block, quiet hours, discreet-only).

pub mod clients;
pub mod pacing;
pub mod quiet_hours;
pub mod retry;
pub mod send;
pub mod simulator;
pub mod worker;
