//! Scenario tests that need the crate's private items (STYLE.md item 8). Public-API
//! tests live in scheduler/tests/.

mod context_tests;
mod freeze_tests;
mod sched_tests;
mod stack_tests;
