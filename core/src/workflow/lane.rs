//! Lanes and the moves allowed between them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Lane {
    Planned,
    Doing,
    ForReview,
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaneError {
    #[error("unknown lane `{0}`: expected one of planned, doing, for_review, done")]
    Unknown(String),
    #[error(
        "illegal move {from} -> {to}: allowed are planned->doing, doing->for_review, for_review->done, for_review->doing (use --force for any other)"
    )]
    IllegalMove { from: Lane, to: Lane },
}

/// A lane or a move asked for.
impl crate::error_kind::ErrorKind for LaneError {
    fn kind(&self) -> crate::events::ErrorType {
        crate::events::ErrorType::Validation
    }
}

impl Lane {
    pub const ALL: [Lane; 4] = [Lane::Planned, Lane::Doing, Lane::ForReview, Lane::Done];

    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Planned => "planned",
            Lane::Doing => "doing",
            Lane::ForReview => "for_review",
            Lane::Done => "done",
        }
    }

    /// Whether the workflow allows `self -> to` without force. Staying in place is not a move.
    pub fn can_move_to(self, to: Lane) -> bool {
        matches!(
            (self, to),
            (Lane::Planned, Lane::Doing)
                | (Lane::Doing, Lane::ForReview)
                | (Lane::ForReview, Lane::Done)
                | (Lane::ForReview, Lane::Doing)
        )
    }

    /// Checks a move; with `force` any move between different lanes is allowed.
    pub fn check_move(self, to: Lane, force: bool) -> Result<(), LaneError> {
        if self.can_move_to(to) || (force && self != to) {
            Ok(())
        } else {
            Err(LaneError::IllegalMove { from: self, to })
        }
    }
}

impl FromStr for Lane {
    type Err = LaneError;
    fn from_str(s: &str) -> Result<Self, LaneError> {
        Lane::ALL.into_iter().find(|lane| lane.as_str() == s).ok_or_else(|| LaneError::Unknown(s.to_string()))
    }
}

impl fmt::Display for Lane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_forward_moves_are_allowed() {
        use Lane::*;
        for (from, to) in [(Planned, Doing), (Doing, ForReview), (ForReview, Done), (ForReview, Doing)] {
            assert!(from.check_move(to, false).is_ok(), "{from}->{to}");
        }
        assert!(Planned.check_move(Done, false).is_err());
        assert!(Done.check_move(Planned, false).is_err());
        assert!(Planned.check_move(Done, true).is_ok());
        assert!(Doing.check_move(Doing, true).is_err());
    }

    #[test]
    fn bad_lane_names_the_value() {
        let err = "review".parse::<Lane>().unwrap_err();
        assert!(err.to_string().contains("`review`"));
        assert_eq!("for_review".parse::<Lane>(), Ok(Lane::ForReview));
    }
}
