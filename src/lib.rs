//! Textline: an SMS hotline gateway for anti-trafficking and crisis hotlines.
//!
//! `ARCHITECTURE.md` beside the README has the code map and the invariants.

pub mod privacy;
