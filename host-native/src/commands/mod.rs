//! One module per command family; each parses nothing and prints nothing: it returns a Report.

pub mod auth;
pub mod carry_out;
pub mod demo;
mod demo_hub;
pub mod facts;
pub mod init;
pub mod lifecycle;
pub mod orchestrate;
pub mod outbox;
pub mod sync;
pub mod tasks;
