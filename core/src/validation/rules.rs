//! The vocabulary the contract is written in: a field and the rules on it, an object's required and known
//! fields. Only the JSON Schema keywords `events.schema.json` uses are here.

use super::patterns::Pattern;

/// The JSON type a field must have (`type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    String,
    /// `["string", "null"]`: a string, or null where the field may be cleared.
    StringOrNull,
    /// A number without a fractional part: `1` and `1.0` alike, as JSON Schema (draft 6 on) says.
    Integer,
    Object,
    Array,
}

/// A `format` the schema asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    DateTime,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::DateTime => "date-time",
        }
    }
}

/// One property of an object and every rule on its value.
#[derive(Debug, Clone, Copy)]
pub(super) struct Field {
    pub name: &'static str,
    pub kind: Kind,
    /// `enum`: the allowed values, in the schema's order (its failure message lists the first ones).
    pub one_of: Option<&'static [&'static str]>,
    /// `minimum`.
    pub minimum: Option<u64>,
    /// `minLength`, in characters.
    pub min_length: Option<u64>,
    pub pattern: Option<Pattern>,
    pub format: Option<Format>,
    /// `items`: the rules on each element of an array.
    pub items: Option<&'static Field>,
}

impl Field {
    const fn of_kind(name: &'static str, kind: Kind) -> Field {
        Field { name, kind, one_of: None, minimum: None, min_length: None, pattern: None, format: None, items: None }
    }

    pub const fn string(name: &'static str) -> Field {
        Field::of_kind(name, Kind::String)
    }

    pub const fn string_or_null(name: &'static str) -> Field {
        Field::of_kind(name, Kind::StringOrNull)
    }

    pub const fn integer(name: &'static str) -> Field {
        Field::of_kind(name, Kind::Integer)
    }

    pub const fn object(name: &'static str) -> Field {
        Field::of_kind(name, Kind::Object)
    }

    pub const fn array_of(name: &'static str, items: &'static Field) -> Field {
        Field { items: Some(items), ..Field::of_kind(name, Kind::Array) }
    }

    pub const fn one_of(self, values: &'static [&'static str]) -> Field {
        Field { one_of: Some(values), ..self }
    }

    pub const fn minimum(self, limit: u64) -> Field {
        Field { minimum: Some(limit), ..self }
    }

    pub const fn min_length(self, limit: u64) -> Field {
        Field { min_length: Some(limit), ..self }
    }

    pub const fn pattern(self, pattern: Pattern) -> Field {
        Field { pattern: Some(pattern), ..self }
    }

    pub const fn format(self, format: Format) -> Field {
        Field { format: Some(format), ..self }
    }
}

/// An object: the properties it must have (`required`, in the schema's order) and the rules on the
/// properties it knows (`properties`). Other properties are allowed and not checked.
#[derive(Debug, Clone, Copy)]
pub(super) struct ObjectShape {
    pub required: &'static [&'static str],
    pub fields: &'static [Field],
}

impl ObjectShape {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|field| field.name == name)
    }
}
