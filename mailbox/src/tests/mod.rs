//! Scenarios that need private access: marker bookkeeping across removals.

mod markers;
