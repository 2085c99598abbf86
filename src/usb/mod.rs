//! USB enumeration: which devices are attached and what their descriptors say.
pub mod descriptor;
