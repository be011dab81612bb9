//! The `tweestap` binary's library half: configuration, wiring the adapters to the core, and
//! the subcommands. `main.rs` only parses the command line. Integration tests use this crate
//! to start a real server on a free port.

pub mod cli;
pub mod commands;
pub mod config;
pub mod server;
