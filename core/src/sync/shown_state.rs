//! The connection state a command shows (`sync status`, the line after an emission), picked from what
//! the host found: whether anyone is logged in, and what a running sync daemon reported.
//!
//! A command does not hold the live connection; the daemon does and reports its state. So a command
//! shows the daemon's word, and `Offline` when there is no daemon to ask or nobody to connect as.

use super::connection::ConnectionState;
use serde::{Deserialize, Serialize};

/// What a host knows, outside the daemon, about the live connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncFacts {
    /// Credentials are stored (the user logged in).
    pub logged_in: bool,
    /// The state a running daemon reported; `None` when no daemon runs (or it has reported nothing).
    pub daemon: Option<ConnectionState>,
}

/// The state to show. Without a login nothing can be connected, whatever a daemon last wrote; without
/// a daemon nothing holds a connection.
pub fn shown_connection(facts: &SyncFacts) -> ConnectionState {
    match (facts.logged_in, facts.daemon) {
        (true, Some(state)) => state,
        (false, _) | (true, None) => ConnectionState::Offline,
    }
}

/// The line a command prints after it queued `queued` events: the state in brackets, and what happens
/// to the events next.
pub fn queued_notice(queued: usize, facts: &SyncFacts) -> String {
    let shown = shown_connection(facts);
    match (facts.logged_in, facts.daemon) {
        (false, _) => format!("[{shown}] {queued} event(s) queued (not logged in; events wait in the queue)"),
        (true, Some(ConnectionState::Connected)) => {
            format!("[{shown}] {queued} event(s) queued; the sync daemon sends them now")
        }
        (true, Some(_)) => format!("[{shown}] {queued} event(s) queued; the sync daemon sends them when it can"),
        (true, None) => {
            format!("[{shown}] {queued} event(s) queued (no sync daemon: `spec-kitty sync now` or `sync start`)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ConnectionState; 4] = [
        ConnectionState::Connected,
        ConnectionState::Reconnecting { attempt: 1 },
        ConnectionState::Offline,
        ConnectionState::OfflineBatchMode,
    ];

    #[test]
    fn a_logged_in_user_sees_what_the_daemon_reported() {
        for state in ALL {
            assert_eq!(shown_connection(&SyncFacts { logged_in: true, daemon: Some(state) }), state);
        }
    }

    #[test]
    fn no_daemon_or_no_login_is_offline() {
        assert_eq!(shown_connection(&SyncFacts { logged_in: true, daemon: None }), ConnectionState::Offline);
        for daemon in ALL.map(Some).into_iter().chain([None]) {
            assert_eq!(shown_connection(&SyncFacts { logged_in: false, daemon }), ConnectionState::Offline);
        }
    }

    #[test]
    fn the_notice_after_an_emission_says_where_the_events_go() {
        let notice = |logged_in, daemon| queued_notice(2, &SyncFacts { logged_in, daemon });
        assert_eq!(
            notice(false, Some(ConnectionState::Connected)),
            "[Offline] 2 event(s) queued (not logged in; events wait in the queue)"
        );
        assert_eq!(
            notice(true, Some(ConnectionState::Connected)),
            "[Connected] 2 event(s) queued; the sync daemon sends them now"
        );
        assert_eq!(
            notice(true, Some(ConnectionState::OfflineBatchMode)),
            "[Offline - Batch Mode] 2 event(s) queued; the sync daemon sends them when it can"
        );
        assert_eq!(
            notice(true, Some(ConnectionState::Reconnecting { attempt: 1 })),
            "[Reconnecting] 2 event(s) queued; the sync daemon sends them when it can"
        );
        assert_eq!(
            notice(true, None),
            "[Offline] 2 event(s) queued (no sync daemon: `spec-kitty sync now` or `sync start`)"
        );
    }
}
