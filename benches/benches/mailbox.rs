//! Placeholder: filled by the mailbox work.
fn main() {}
