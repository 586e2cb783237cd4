//! The Lamport clock of one node, with `clock.json` as its JSON form, for any host ([`Arg`]).

use crate::args::{self, Arg, Error};
use spec_kitty_core::{ClockFile, LamportClock, NodeId};

/// A node's Lamport clock: `tick()` for a local event, `receive(remote)` for a value seen elsewhere.
pub struct Clock {
    pub clock: LamportClock,
    pub node_id: NodeId,
}

impl Clock {
    /// A clock for `nodeId` (12 lowercase hex characters) at `value` (default 0).
    pub fn new<A: Arg>(node_id: &A, value: &A) -> Result<Clock, Error> {
        let node_id = args::string("nodeId", node_id)?;
        let node_id = node_id.parse::<NodeId>().map_err(|e| Error::field("nodeId", e))?;
        let value = args::optional_unsigned("value", value)?.unwrap_or(0);
        Ok(Clock { clock: LamportClock::new(value), node_id })
    }

    pub fn value(&self) -> u64 {
        self.clock.value()
    }

    /// Advances for a local event and returns the value that event carries.
    pub fn tick(&mut self) -> Result<u64, Error> {
        self.clock.tick().map_err(Error::from_display)
    }

    /// Merges a remote value: max(local, remote) + 1, returned.
    pub fn receive<A: Arg>(&mut self, remote: &A) -> Result<u64, Error> {
        let remote = args::unsigned("remote", remote)?;
        self.clock.receive(remote).map_err(Error::from_display)
    }

    /// The `clock.json` object, `updated_at` from `nowMs` (the host's clock when absent). Anything but a
    /// number counts as no time given: `JSON.stringify(clock)` calls `toJSON` with a key.
    pub fn to_file<A: Arg>(&self, now_ms: &A) -> Result<ClockFile, Error> {
        let now_ms =
            if now_ms.as_f64().is_some() { args::unsigned("nowMs", now_ms)? } else { A::host_now_ms("nowMs")? };
        Ok(ClockFile::new(self.clock, self.node_id.clone(), now_ms))
    }

    /// Reads `clock.json`, as its text or as the parsed object. A missing, empty or corrupt file is an
    /// error: the host then starts at 0 and says so.
    pub fn from_file<A: Arg>(json: &A) -> Result<Clock, Error> {
        let text = match json.as_string() {
            Some(text) => text,
            None => json.to_json("clock.json")?.to_string(),
        };
        let file = ClockFile::parse("clock.json", &text).map_err(Error::from_display)?;
        Ok(Clock { clock: file.clock(), node_id: file.node_id })
    }
}
