//! bream-scheduler: see docs/.
