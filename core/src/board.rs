//! The board: an event stream folded into per-WP state.
//!
//! Events are deduplicated by `event_id` and applied in the total order (lamport_clock, node_id,
//! event_id), so every delivery order and every duplication of the same events gives the same board.

use crate::events::{Event, Payload};
use crate::ids::WpId;
use crate::workflow::Lane;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryItem {
    pub event_id: String,
    pub lamport_clock: u64,
    pub node_id: String,
    pub event_type: String,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WpCard {
    pub wp_id: WpId,
    pub title: Option<String>,
    pub feature_slug: Option<String>,
    pub lane: Lane,
    pub dependencies: Vec<WpId>,
    pub assignee: Option<String>,
    pub history: Vec<HistoryItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FeatureCard {
    pub feature_slug: String,
    pub target_branch: Option<String>,
    pub wp_count: Option<u32>,
    pub completed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Board {
    pub work_packages: BTreeMap<WpId, WpCard>,
    pub features: BTreeMap<String, FeatureCard>,
    /// How many distinct events the board holds; duplicates are not counted.
    pub events_applied: usize,
    /// The highest Lamport value seen, for a host to `receive` into its clock.
    pub max_lamport_clock: u64,
}

impl Board {
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Board {
        let mut ordered: Vec<&Event> = events.into_iter().collect();
        ordered.sort_by(|a, b| {
            (a.lamport_clock, &a.node_id, &a.event_id).cmp(&(b.lamport_clock, &b.node_id, &b.event_id))
        });
        let mut seen = HashSet::new();
        let mut board = Board::default();
        for event in ordered {
            if seen.insert(event.event_id.as_str()) {
                board.apply(event);
            }
        }
        board
    }

    fn card(&mut self, wp_id: &WpId) -> &mut WpCard {
        self.work_packages.entry(wp_id.clone()).or_insert_with(|| WpCard {
            wp_id: wp_id.clone(),
            title: None,
            feature_slug: None,
            lane: Lane::Planned,
            dependencies: Vec::new(),
            assignee: None,
            history: Vec::new(),
        })
    }

    fn feature(&mut self, slug: &str) -> &mut FeatureCard {
        self.features.entry(slug.to_string()).or_insert_with(|| FeatureCard {
            feature_slug: slug.to_string(),
            target_branch: None,
            wp_count: None,
            completed: false,
        })
    }

    fn apply(&mut self, event: &Event) {
        self.events_applied += 1;
        self.max_lamport_clock = self.max_lamport_clock.max(event.lamport_clock);
        let item = |summary: String| HistoryItem {
            event_id: event.event_id.clone(),
            lamport_clock: event.lamport_clock,
            node_id: event.node_id.clone(),
            event_type: event.event_type().as_str().to_string(),
            summary,
        };
        match &event.payload {
            Payload::WpStatusChanged(p) => {
                let card = self.card(&p.wp_id);
                card.lane = p.new_status;
                if p.feature_slug.is_some() {
                    card.feature_slug.clone_from(&p.feature_slug);
                }
                let line = format!("{} -> {} by {}", p.previous_status, p.new_status, p.changed_by);
                card.history.push(item(line));
            }
            Payload::WpCreated(p) => {
                let card = self.card(&p.wp_id);
                card.title = Some(p.title.clone());
                card.dependencies.clone_from(&p.dependencies);
                card.feature_slug = Some(p.feature_slug.clone());
                card.history.push(item(format!("created: {}", p.title)));
            }
            Payload::WpAssigned(p) => {
                let card = self.card(&p.wp_id);
                card.assignee = Some(p.agent_id.clone());
                let phase = serde_json::to_value(p.phase).unwrap_or_default();
                let phase = phase.as_str().unwrap_or_default();
                card.history.push(item(format!("assigned to {} for {phase} (retry {})", p.agent_id, p.retry_count)));
            }
            Payload::HistoryAdded(p) => {
                let line = format!("{}: {}", p.author, p.entry_content);
                self.card(&p.wp_id).history.push(item(line));
            }
            Payload::ErrorLogged(p) => {
                if let Some(wp_id) = &p.wp_id {
                    let line = format!("error: {}", p.error_message);
                    self.card(wp_id).history.push(item(line));
                }
            }
            Payload::DependencyResolved(p) => {
                let line = format!("dependency {} resolved", p.dependency_wp_id);
                self.card(&p.wp_id).history.push(item(line));
            }
            Payload::FeatureCreated(p) => {
                let feature = self.feature(&p.feature_slug);
                feature.target_branch = Some(p.target_branch.clone());
                feature.wp_count = Some(p.wp_count);
            }
            Payload::FeatureCompleted(p) => self.feature(&p.feature_slug).completed = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::tests::arb_payload;
    use crate::events::{HistoryAdded, WpCreated, WpStatusChanged};
    use crate::{EventFactory, Identity, LamportClock, Moment, NodeId};
    use proptest::prelude::*;

    fn factory(host: &str) -> EventFactory {
        EventFactory::new(Identity {
            node_id: NodeId::from_host_and_user(host, "user"),
            team_slug: "team".into(),
            project: None,
        })
    }

    fn wp(s: &str) -> WpId {
        s.parse().unwrap()
    }

    #[test]
    fn folds_lanes_titles_and_history() {
        let mut clock = LamportClock::default();
        let mut f = factory("a");
        let at = Moment { unix_ms: 1_000, entropy: 1 };
        let created = WpCreated {
            wp_id: wp("WP01"),
            title: "Factory".into(),
            dependencies: vec![],
            feature_slug: "028-x".into(),
        };
        let events = vec![
            f.wp_created(&mut clock, at, None, created).unwrap(),
            f.wp_status_changed(&mut clock, at, None, WpStatusChanged::new(wp("WP01"), Lane::Planned, Lane::Doing))
                .unwrap(),
            f.history_added(&mut clock, at, None, HistoryAdded::note(wp("WP01"), "started")).unwrap(),
        ];
        let mut delivered = events.clone();
        delivered.reverse();
        delivered.push(events[1].clone());
        let board = Board::from_events(&delivered);
        let card = &board.work_packages[&wp("WP01")];
        assert_eq!(card.lane, Lane::Doing);
        assert_eq!(card.title.as_deref(), Some("Factory"));
        assert_eq!(card.feature_slug.as_deref(), Some("028-x"));
        assert_eq!(card.history.len(), 3);
        assert_eq!(card.history[2].summary, "user: started");
        assert_eq!(board.events_applied, 3);
        assert_eq!(board.max_lamport_clock, 3);
    }

    #[test]
    fn concurrent_moves_resolve_by_node_id_then_event_id() {
        // Two nodes move WP01 at the same Lamport value: the higher node id applies last and wins.
        let mut a = factory("a");
        let mut b = factory("b");
        let one = a
            .wp_status_changed(
                &mut LamportClock::new(3),
                Moment { unix_ms: 5, entropy: 9 },
                None,
                WpStatusChanged::new(wp("WP01"), Lane::Doing, Lane::ForReview),
            )
            .unwrap();
        let two = b
            .wp_status_changed(
                &mut LamportClock::new(3),
                Moment { unix_ms: 5, entropy: 8 },
                None,
                WpStatusChanged::new(wp("WP01"), Lane::Doing, Lane::Planned),
            )
            .unwrap();
        let winner = if one.node_id > two.node_id { Lane::ForReview } else { Lane::Planned };
        for order in [vec![&one, &two], vec![&two, &one]] {
            assert_eq!(Board::from_events(order).work_packages[&wp("WP01")].lane, winner);
        }
    }

    proptest! {
        #[test]
        fn any_permutation_and_duplication_gives_the_same_board(
            payloads in prop::collection::vec((arb_payload(), 0usize..3), 1..40),
            seed in any::<u64>(),
        ) {
            let mut nodes = [factory("a"), factory("b"), factory("c")];
            let mut clocks = [LamportClock::default(); 3];
            let mut events = Vec::new();
            for (i, (payload, node)) in payloads.into_iter().enumerate() {
                let at = Moment { unix_ms: 1_000 + i as u64, entropy: (seed as u128) << 8 | node as u128 };
                events.push(nodes[node].build(&mut clocks[node], at, None, payload).unwrap());
            }
            let expected = Board::from_events(&events);
            // A deterministic shuffle with duplicates, driven by the seed.
            let mut delivered: Vec<&Event> = events.iter().chain(events.iter().step_by(3)).collect();
            let mut state = seed | 1;
            for i in (1..delivered.len()).rev() {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                delivered.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let board = Board::from_events(delivered);
            prop_assert_eq!(&board, &expected);
            prop_assert_eq!(board.events_applied, events.len());
        }
    }
}
