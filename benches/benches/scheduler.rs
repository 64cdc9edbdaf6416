//! Placeholder: filled by the scheduler work.
fn main() {}
