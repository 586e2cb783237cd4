//! The board: an event stream folded into per-WP state, for any host ([`Arg`]).

use crate::args::{self, Arg, Error};
use spec_kitty_core::Event;
use spec_kitty_core::board::Board;

/// Folds events (envelopes, in any order, duplicates allowed) into the board. An error names the first
/// event that is not an envelope (`events[3].payload: ...`).
pub fn fold<A: Arg>(events: &A) -> Result<Board, Error> {
    let events: Vec<Event> = args::from_arg("events", events)?;
    Ok(Board::from_events(&events))
}
