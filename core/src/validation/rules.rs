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
    /// Listed in the object's `required`.
    pub required: bool,
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
        Field {
            name,
            required: false,
            kind,
            one_of: None,
            minimum: None,
            min_length: None,
            pattern: None,
            format: None,
            items: None,
        }
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

    pub const fn required(self) -> Field {
        Field { required: true, ..self }
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

/// The most fields an object may have: the checker keeps one bit per field in a `u64` and the fields'
/// values in an array of this length.
pub(super) const MAX_FIELDS: usize = 16;

/// An object: the rules on the properties it knows (`properties`), which of them it must have
/// (`required`). Other properties are allowed and not checked.
///
/// A missing field is reported in the order of `fields`, which is also the order of the schema's
/// `required` lists (`contract::tests` checks that).
#[derive(Debug, Clone, Copy)]
pub(super) struct ObjectShape {
    pub fields: &'static [Field],
    /// Bit `i` set when `fields[i]` is required.
    pub required: u64,
}

impl ObjectShape {
    pub const fn new(fields: &'static [Field]) -> ObjectShape {
        assert!(fields.len() <= MAX_FIELDS, "an object shape has at most MAX_FIELDS fields");
        let mut required = 0;
        let mut index = 0;
        while index < fields.len() {
            if fields[index].required {
                required |= 1 << index;
            }
            index += 1;
        }
        ObjectShape { fields, required }
    }

    /// The position of the field called `name`, found when the program is compiled.
    pub const fn position(&self, name: &str) -> usize {
        let mut index = 0;
        while index < self.fields.len() {
            if same_text(self.fields[index].name, name) {
                return index;
            }
            index += 1;
        }
        panic!("no such field in this shape");
    }

    /// The position of the field called `name`, looked for from position `start` on and then from the
    /// beginning: members mostly come in the contract's order, so a search that starts after the previous
    /// member's field mostly finds the next one at once.
    pub fn index_of(&self, name: &str, start: usize) -> Option<usize> {
        let (before, after) = self.fields.split_at(start.min(self.fields.len()));
        let found = |fields: &[Field]| fields.iter().position(|field| field.name == name);
        found(after).map(|index| start + index).or_else(|| found(before))
    }
}

/// `a == b`, which a `const fn` cannot write yet.
const fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut index = 0;
    while index < a.len() {
        if a[index] != b[index] {
            return false;
        }
        index += 1;
    }
    true
}
