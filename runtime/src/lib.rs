//! bream: see docs/.
