//! Identifiers: work-package ids, node ids and ULIDs.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use ulid::Ulid;

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum IdError {
    #[error("malformed work package id `{0}`: expected WP followed by two digits, like WP01")]
    MalformedWpId(String),
    #[error("malformed ULID `{0}`: expected 26 Crockford base32 characters")]
    MalformedUlid(String),
    #[error("malformed node id `{0}`: expected 12 lowercase hex characters")]
    MalformedNodeId(String),
    #[error("ULID space exhausted within millisecond {0}")]
    UlidOverflow(u64),
}

/// A malformed id is input; running out of ULIDs within a millisecond is the machine's.
impl crate::error_kind::ErrorKind for IdError {
    fn kind(&self) -> crate::events::ErrorType {
        match self {
            IdError::UlidOverflow(_) => crate::events::ErrorType::Runtime,
            _ => crate::events::ErrorType::Validation,
        }
    }
}

/// A work package id, `WP` and two digits (`WP01`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WpId(String);

impl WpId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for WpId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let b = s.as_bytes();
        if b.len() == 4 && &b[..2] == b"WP" && b[2].is_ascii_digit() && b[3].is_ascii_digit() {
            Ok(WpId(s.to_string()))
        } else {
            Err(IdError::MalformedWpId(s.to_string()))
        }
    }
}

impl TryFrom<String> for WpId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        s.parse()
    }
}

impl From<WpId> for String {
    fn from(id: WpId) -> String {
        id.0
    }
}

impl fmt::Display for WpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stable, anonymous machine identifier: the first 12 hex chars of sha256("{hostname}:{username}").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NodeId(String);

impl NodeId {
    pub fn from_host_and_user(hostname: &str, username: &str) -> NodeId {
        let digest = Sha256::digest(format!("{hostname}:{username}").as_bytes());
        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        NodeId(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for NodeId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        if s.len() == 12 && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(NodeId(s.to_string()))
        } else {
            Err(IdError::MalformedNodeId(s.to_string()))
        }
    }
}

impl TryFrom<String> for NodeId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        s.parse()
    }
}

impl From<NodeId> for String {
    fn from(id: NodeId) -> String {
        id.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Only the low 80 bits of the entropy a host passes are used.
const RANDOM_MASK: u128 = (1u128 << 80) - 1;

/// Makes ULIDs from (unix ms, entropy) values, monotonic within one millisecond: a second id in the
/// same (or an earlier) millisecond is the previous one plus one, so ids sort in creation order.
#[derive(Debug, Clone, Default)]
pub struct UlidGenerator {
    last: Option<Ulid>,
}

impl UlidGenerator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn next(&mut self, unix_ms: u64, entropy: u128) -> Result<Ulid, IdError> {
        let id = match self.last {
            Some(last) if unix_ms <= last.timestamp_ms() => {
                last.increment().map_err(|_| IdError::UlidOverflow(unix_ms))?
            }
            _ => Ulid::from_parts(unix_ms, entropy & RANDOM_MASK),
        };
        self.last = Some(id);
        Ok(id)
    }
}

/// Parses a ULID in its canonical uppercase form (the schema's pattern refuses lowercase).
pub fn parse_ulid(s: &str) -> Result<Ulid, IdError> {
    let canonical = s.len() == 26 && s.bytes().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase());
    match Ulid::from_string(s) {
        Ok(id) if canonical => Ok(id),
        _ => Err(IdError::MalformedUlid(s.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wp_ids_need_two_digits() {
        assert!("WP01".parse::<WpId>().is_ok());
        for bad in ["WP1", "wp01", "WP001", "WPab", ""] {
            let err = bad.parse::<WpId>().unwrap_err();
            assert!(err.to_string().contains(&format!("`{bad}`")));
        }
    }

    #[test]
    fn node_id_is_first_12_hex_of_sha256() {
        // The expected digest was computed independently with coreutils sha256sum.
        let id = NodeId::from_host_and_user("host", "user");
        assert_eq!(id.as_str().len(), 12);
        assert_eq!(id.as_str(), &HOST_USER_SHA256[..12]);
    }
    const HOST_USER_SHA256: &str = include_str!("../testdata/host_user.sha256");

    #[test]
    fn same_millisecond_ids_increase() {
        let mut ids = UlidGenerator::new();
        // Bits above the 80th are dropped.
        let a = ids.next(1000, (1u128 << 100) | 5).unwrap();
        let b = ids.next(1000, 0).unwrap();
        let c = ids.next(999, 0).unwrap();
        assert!(a < b && b < c);
        assert_eq!(a.random(), 5);
        assert_eq!(c.random(), 7);
    }

    #[test]
    fn exhausted_millisecond_is_an_error() {
        let mut ids = UlidGenerator::new();
        ids.next(7, RANDOM_MASK).unwrap();
        // The maximum random part of ms 7 increments into ms 8 is not allowed by the ulid crate.
        assert_eq!(ids.next(7, 0), Err(IdError::UlidOverflow(7)));
    }

    #[test]
    fn ulid_parse_refuses_lowercase() {
        assert!(parse_ulid("01ARZ3NDEKTSV4RRFFQ69G5FAV").is_ok());
        assert!(parse_ulid("01arz3ndektsv4rrffq69g5fav").is_err());
    }
}
