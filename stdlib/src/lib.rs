//! bream-stdlib: see docs/.
