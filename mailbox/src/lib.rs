//! bream-mailbox: see docs/.
