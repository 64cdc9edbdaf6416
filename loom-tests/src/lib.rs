//! loom models of bream's concurrency protocols: see the tests/ folder.
