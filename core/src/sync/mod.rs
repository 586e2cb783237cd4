//! Sync decisions, as pure functions and sans-IO state machines.
