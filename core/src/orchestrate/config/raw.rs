//! agents.yaml as written, before its meaning is checked: strict serde types (an unknown key is an
//! error naming it) with upstream's short forms (`codex: true`, `single_agent_mode: false`, a command
//! as a line or a list, `version: 1.0`), agents kept in file order.

use crate::orchestrate::agents::Phase;
use crate::orchestrate::config::FallbackStrategy;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) version: Option<Version>,
    #[serde(default)]
    pub(super) defaults: Option<RawDefaults>,
    #[serde(default)]
    pub(super) agents: Option<OrderedAgents>,
    #[serde(default)]
    pub(super) fallback_strategy: Option<FallbackStrategy>,
    #[serde(default)]
    pub(super) max_retries: Option<u32>,
    #[serde(default)]
    pub(super) single_agent_mode: Option<BoolOr<RawSingleAgentMode>>,
    #[serde(default)]
    pub(super) global_concurrency: Option<u32>,
    #[serde(default)]
    pub(super) global_timeout: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    #[serde(default)]
    pub(super) implementation: Option<Vec<String>>,
    #[serde(default)]
    pub(super) review: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAgent {
    #[serde(default)]
    pub(super) enabled: Option<bool>,
    #[serde(default)]
    pub(super) roles: Option<Vec<Phase>>,
    #[serde(default)]
    pub(super) priority: Option<i64>,
    #[serde(default)]
    pub(super) max_concurrent: Option<u32>,
    #[serde(default)]
    pub(super) timeout_seconds: Option<u64>,
    #[serde(default)]
    pub(super) command: Option<RawCommand>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSingleAgentMode {
    #[serde(default)]
    pub(super) enabled: Option<bool>,
    #[serde(default)]
    pub(super) agent: Option<String>,
}

/// `version: 1.0` and `version: "1.0"` alike.
pub(super) struct Version(pub(super) String);

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Version;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a version like \"1.0\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Version, E> {
                Ok(Version(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Version, E> {
                Ok(Version(format!("{v:?}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Version, E> {
                Ok(Version(v.to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A command as one line or as a list of words.
pub(super) enum RawCommand {
    Line(String),
    Words(Vec<String>),
}

impl<'de> Deserialize<'de> for RawCommand {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCommand;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a command line, or a list of words")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawCommand, E> {
                Ok(RawCommand::Line(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawCommand, A::Error> {
                let mut words = Vec::new();
                while let Some(word) = seq.next_element::<String>()? {
                    words.push(word);
                }
                Ok(RawCommand::Words(words))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Upstream's short forms: `codex: true` for an agent, `single_agent_mode: false`; null is false.
pub(super) enum BoolOr<T> {
    Bool(bool),
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for BoolOr<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = BoolOr<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false or a mapping")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<BoolOr<T>, E> {
                Ok(BoolOr::Bool(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<BoolOr<T>, E> {
                Ok(BoolOr::Bool(false))
            }
            fn visit_none<E: de::Error>(self) -> Result<BoolOr<T>, E> {
                Ok(BoolOr::Bool(false))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<BoolOr<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(BoolOr::Value)
            }
        }
        deserializer.deserialize_any(V(std::marker::PhantomData))
    }
}

/// `agents:` in file order (a map type would sort or hash them).
pub(super) struct OrderedAgents(pub(super) Vec<(String, BoolOr<RawAgent>)>);

impl<'de> Deserialize<'de> for OrderedAgents {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedAgents;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of agent ids to their settings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedAgents, A::Error> {
                let mut agents = Vec::new();
                while let Some(id) = map.next_key::<String>()? {
                    agents.push((id, map.next_value()?));
                }
                Ok(OrderedAgents(agents))
            }
            fn visit_unit<E: de::Error>(self) -> Result<OrderedAgents, E> {
                Ok(OrderedAgents(Vec::new()))
            }
        }
        deserializer.deserialize_any(V)
    }
}
