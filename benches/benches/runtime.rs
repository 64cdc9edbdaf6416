//! Placeholder: filled by the runtime work.
fn main() {}
