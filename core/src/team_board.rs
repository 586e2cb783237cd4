//! The team board: a team's stored events, in either dialect, folded into work-package and feature cards.
//!
//! This is what the hub answers `GET /api/v1/board/` with and what its WebSocket `snapshot` carries. Events
//! are taken as JSON values (the hub stores what it admitted), deduplicated by `event_id` and applied in the
//! total order (lamport_clock, node_id, event_id), ties between differing copies of one id broken by their
//! JSON text; so every delivery order and every duplication of the same events gives the same board.
//!
//! Why not [`crate::board::Board`]: that fold takes typed 028 events and keys cards by WP id alone, which is
//! right for one feature's board. A team's board spans features (each has a `WP01`) and both dialects, so here
//! a card is keyed by (feature, WP id) and lanes are kept as the strings the events say (028 `new_status`,
//! 2.x `to_lane`). The history items and their summaries are the same as `board`'s.
//!
//! Which feature a WP event belongs to: the payload's `feature_slug` when it has one (WPCreated always does,
//! WPStatusChanged may). Otherwise the feature the same node last named for that WP id, else the feature
//! anyone last named for it, else none (a card with `feature_slug: null`, adopted by the first event that
//! names a feature for that WP id). All of this follows the total order, so it is deterministic.

use crate::board::HistoryItem;
use crate::sync::wire::ServerFrame;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

/// How many history items a card keeps: the most recent ones. `history_count` counts them all.
pub const HISTORY_KEPT: usize = 20;
/// A history summary is cut to this many characters (a note can be long; the snapshot stays small).
pub const SUMMARY_CHARS: usize = 500;
/// The lane of a WP no status change has reached yet.
pub const INITIAL_LANE: &str = "planned";

/// One work package of one feature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WpCard {
    pub wp_id: String,
    pub feature_slug: Option<String>,
    pub title: Option<String>,
    /// As the last status change says it: one of our four lanes or upstream's eight.
    pub lane: String,
    pub dependencies: Vec<String>,
    pub assignee: Option<String>,
    /// The Lamport value of the last event applied to this card.
    pub updated_at_lamport: u64,
    /// The last [`HISTORY_KEPT`] events about this WP, oldest first.
    pub history: Vec<HistoryItem>,
    /// How many events about this WP there were in all.
    pub history_count: u64,
}

/// One feature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureCard {
    pub feature_slug: String,
    pub target_branch: Option<String>,
    pub wp_count: Option<u64>,
    pub completed: bool,
    /// MissionDossier events about this feature (upstream's 2.x clients); counted, not otherwise folded.
    pub dossier_events: u64,
}

/// A team's board. Serialises as
/// `{"work_packages":[card...],"features":[...],"events_applied":n,"max_lamport_clock":n}`,
/// cards sorted by feature (cards without one first) then WP id, features by slug.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamBoard {
    pub work_packages: Vec<WpCard>,
    pub features: Vec<FeatureCard>,
    /// How many distinct events (by `event_id`) were folded; duplicates and values without a string
    /// `event_id` are not counted.
    pub events_applied: u64,
    /// The highest Lamport value seen, for a client to `receive` into its clock.
    pub max_lamport_clock: u64,
}

impl TeamBoard {
    /// Folds events (any order, duplicates allowed) into the board.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Value>) -> TeamBoard {
        let mut ordered: Vec<Keyed<'a>> = events.into_iter().filter_map(Keyed::new).collect();
        ordered.sort_by(Keyed::total_order);
        let mut seen = HashSet::new();
        let mut fold = Fold::default();
        for keyed in ordered {
            if seen.insert(keyed.event_id) {
                fold.apply(&keyed);
            }
        }
        fold.into_board()
    }

    /// The WebSocket's first frame: `{"type":"snapshot","work_packages":[card...]}`.
    pub fn snapshot(&self) -> ServerFrame {
        let work_packages = self.work_packages.iter().map(|card| serde_json::to_value(card).unwrap_or_default());
        ServerFrame::Snapshot { work_packages: work_packages.collect() }
    }
}

/// An event with its sort key read out.
struct Keyed<'a> {
    lamport_clock: u64,
    node_id: &'a str,
    event_id: &'a str,
    event: &'a Value,
}

impl<'a> Keyed<'a> {
    fn new(event: &'a Value) -> Option<Keyed<'a>> {
        Some(Keyed {
            event_id: event.get("event_id")?.as_str()?,
            lamport_clock: event.get("lamport_clock").and_then(Value::as_u64).unwrap_or(0),
            node_id: event.get("node_id").and_then(Value::as_str).unwrap_or_default(),
            event,
        })
    }

    fn total_order(a: &Keyed<'_>, b: &Keyed<'_>) -> Ordering {
        (a.lamport_clock, a.node_id, a.event_id)
            .cmp(&(b.lamport_clock, b.node_id, b.event_id))
            // Two differing copies of one event at one place: the lesser JSON text first (and kept).
            .then_with(
                || if a.event == b.event { Ordering::Equal } else { a.event.to_string().cmp(&b.event.to_string()) },
            )
    }
}

type CardKey = (Option<String>, String);

#[derive(Default)]
struct Fold {
    cards: BTreeMap<CardKey, WpCard>,
    features: BTreeMap<String, FeatureCard>,
    /// (node_id, wp_id) -> the feature that node last named for that WP.
    node_context: HashMap<(String, String), String>,
    /// wp_id -> the feature anyone last named for it.
    wp_context: HashMap<String, String>,
    events_applied: u64,
    max_lamport_clock: u64,
}

fn text<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}

fn cut(summary: String) -> String {
    match summary.char_indices().nth(SUMMARY_CHARS) {
        Some((at, _)) => format!("{}...", &summary[..at]),
        None => summary,
    }
}

impl Fold {
    fn into_board(self) -> TeamBoard {
        TeamBoard {
            work_packages: self.cards.into_values().collect(),
            features: self.features.into_values().collect(),
            events_applied: self.events_applied,
            max_lamport_clock: self.max_lamport_clock,
        }
    }

    fn feature(&mut self, slug: &str) -> &mut FeatureCard {
        self.features.entry(slug.to_string()).or_insert_with(|| FeatureCard {
            feature_slug: slug.to_string(),
            target_branch: None,
            wp_count: None,
            completed: false,
            dossier_events: 0,
        })
    }

    /// The card of `wp_id` in the feature the event names, or else the one its context gives.
    fn card(&mut self, node_id: &str, wp_id: &str, named_feature: Option<&str>) -> &mut WpCard {
        let feature = match named_feature {
            Some(feature) => {
                self.node_context.insert((node_id.to_string(), wp_id.to_string()), feature.to_string());
                self.wp_context.insert(wp_id.to_string(), feature.to_string());
                Some(feature.to_string())
            }
            None => self
                .node_context
                .get(&(node_id.to_string(), wp_id.to_string()))
                .or_else(|| self.wp_context.get(wp_id))
                .cloned(),
        };
        let key = (feature.clone(), wp_id.to_string());
        if feature.is_some()
            && !self.cards.contains_key(&key)
            && let Some(mut orphan) = self.cards.remove(&(None, wp_id.to_string()))
        {
            orphan.feature_slug.clone_from(&feature);
            self.cards.insert(key.clone(), orphan);
        }
        self.cards.entry(key).or_insert_with(|| WpCard {
            wp_id: wp_id.to_string(),
            feature_slug: feature,
            title: None,
            lane: INITIAL_LANE.to_string(),
            dependencies: Vec::new(),
            assignee: None,
            updated_at_lamport: 0,
            history: Vec::new(),
            history_count: 0,
        })
    }

    fn apply(&mut self, keyed: &Keyed<'_>) {
        self.events_applied += 1;
        self.max_lamport_clock = self.max_lamport_clock.max(keyed.lamport_clock);
        let event = keyed.event;
        let payload = event.get("payload").unwrap_or(&Value::Null);
        let event_type = text(event, "event_type").unwrap_or_default();
        let item = |summary: String| HistoryItem {
            event_id: keyed.event_id.to_string(),
            lamport_clock: keyed.lamport_clock,
            node_id: keyed.node_id.to_string(),
            event_type: event_type.to_string(),
            summary: cut(summary),
        };
        let wp_id = text(payload, "wp_id");
        let named_feature = text(payload, "feature_slug").filter(|s| !s.is_empty());
        match (event_type, wp_id) {
            ("WPStatusChanged", Some(wp_id)) => {
                // 2.x: from_lane/to_lane/actor; 028: previous_status/new_status/changed_by.
                let to = text(payload, "to_lane").or_else(|| text(payload, "new_status"));
                let from = text(payload, "from_lane").or_else(|| text(payload, "previous_status"));
                let by = text(payload, "actor").or_else(|| text(payload, "changed_by")).unwrap_or("user");
                let line = format!("{} -> {} by {by}", from.unwrap_or("?"), to.unwrap_or("?"));
                let card = self.card(keyed.node_id, wp_id, named_feature);
                if let Some(to) = to {
                    card.lane = to.to_string();
                }
                push(card, keyed.lamport_clock, item(line));
            }
            ("WPCreated", Some(wp_id)) => {
                let title = text(payload, "title").unwrap_or_default();
                let line = format!("created: {title}");
                let dependencies = payload.get("dependencies").and_then(Value::as_array);
                let dependencies = dependencies.into_iter().flatten().filter_map(Value::as_str);
                let card = self.card(keyed.node_id, wp_id, named_feature);
                card.title = Some(title.to_string());
                card.dependencies = dependencies.map(str::to_string).collect();
                push(card, keyed.lamport_clock, item(line));
            }
            ("WPAssigned", Some(wp_id)) => {
                let agent = text(payload, "agent_id").unwrap_or_default();
                let phase = text(payload, "phase").unwrap_or_default();
                let retry = payload.get("retry_count").and_then(Value::as_u64).unwrap_or(0);
                let line = format!("assigned to {agent} for {phase} (retry {retry})");
                let card = self.card(keyed.node_id, wp_id, named_feature);
                card.assignee = Some(agent.to_string());
                push(card, keyed.lamport_clock, item(line));
            }
            ("HistoryAdded", Some(wp_id)) => {
                let author = text(payload, "author").unwrap_or("user");
                let line = format!("{author}: {}", text(payload, "entry_content").unwrap_or_default());
                push(self.card(keyed.node_id, wp_id, named_feature), keyed.lamport_clock, item(line));
            }
            ("ErrorLogged", Some(wp_id)) => {
                let line = format!("error: {}", text(payload, "error_message").unwrap_or_default());
                push(self.card(keyed.node_id, wp_id, named_feature), keyed.lamport_clock, item(line));
            }
            ("DependencyResolved", Some(wp_id)) => {
                let line = format!("dependency {} resolved", text(payload, "dependency_wp_id").unwrap_or_default());
                push(self.card(keyed.node_id, wp_id, named_feature), keyed.lamport_clock, item(line));
            }
            ("FeatureCreated", _) => {
                if let Some(slug) = named_feature {
                    let target_branch = text(payload, "target_branch").map(str::to_string);
                    let wp_count = payload.get("wp_count").and_then(Value::as_u64);
                    let feature = self.feature(slug);
                    feature.target_branch = target_branch;
                    feature.wp_count = wp_count;
                }
            }
            ("FeatureCompleted", _) => {
                if let Some(slug) = named_feature {
                    self.feature(slug).completed = true;
                }
            }
            _ if event_type.starts_with("MissionDossier")
                || text(event, "aggregate_type") == Some("MissionDossier") =>
            {
                // The feature the payload names, else the aggregate id's part before ':' (`<feature>:<key>`).
                let aggregate = text(event, "aggregate_id").unwrap_or_default();
                let slug = named_feature.unwrap_or_else(|| aggregate.split(':').next().unwrap_or_default());
                if !slug.is_empty() {
                    self.feature(slug).dossier_events += 1;
                }
            }
            _ => {}
        }
    }
}

fn push(card: &mut WpCard, lamport_clock: u64, item: HistoryItem) {
    card.updated_at_lamport = card.updated_at_lamport.max(lamport_clock);
    card.history_count += 1;
    if card.history.len() == HISTORY_KEPT {
        card.history.remove(0);
    }
    card.history.push(item);
}

#[cfg(test)]
mod tests;
