//! Audio output: the device ([`device`], the only place that opens one)
//! and the real-time path into it ([`realtime`]).
pub mod device;
#[cfg(feature = "jack")]
mod jack_stream;
#[cfg(feature = "jack")]
pub mod latency;
pub mod realtime;
