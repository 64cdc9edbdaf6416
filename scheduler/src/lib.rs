//! bream-scheduler: see docs/.

mod context;
mod stack;
#[cfg(test)]
mod tests;
mod trap;
