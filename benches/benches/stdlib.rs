//! Placeholder: filled by the stdlib work.
fn main() {}
