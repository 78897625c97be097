//! What an SMS costs before it is sent: its encoding and how many segments it takes.
//!
//! The outbox paces channels in segments, the reply box shows a live counter, and
//! `textline messages check` reports every catalog reply; all of them count here.

pub mod encoding;

pub use encoding::{
    Encoding, SegmentCount, count_segments, gsm7_septets, is_gsm7, replace_lookalikes,
};
