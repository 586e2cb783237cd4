//! The schema's `pattern`s, each matched by hand instead of by a regex engine.
//!
//! jsonschema reads patterns as ECMA-262 regexes: `\d` is `[0-9]` (not every Unicode digit), `^` and `$`
//! anchor at the ends of the whole string (a trailing line feed does not match), and a class such as
//! `[0-9a-f]` holds only ASCII, so a string with any other character fails. Each function below decides
//! exactly what its pattern decides, on bytes.

/// A pattern of the schema: its text (quoted in the failure message) and its matcher.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pattern {
    pub source: &'static str,
    pub matches: fn(&str) -> bool,
}

/// A ULID in Crockford base32, upper case: 26 of `0-9 A-H J K M N P-T V-Z` (no I, L, O or U).
pub(super) const ULID: Pattern = Pattern { source: "^[0-9A-HJKMNP-TV-Z]{26}$", matches: is_ulid };

/// A node id: 12 lowercase hex digits.
pub(super) const NODE_ID: Pattern = Pattern { source: "^[0-9a-f]{12}$", matches: is_node_id };

/// A lowercase UUID of version 4 and the RFC 4122 variant.
pub(super) const UUID_V4: Pattern =
    Pattern { source: "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", matches: is_uuid_v4 };

/// A work package id: `WP` and two digits.
pub(super) const WP_ID: Pattern = Pattern { source: r"^WP\d{2}$", matches: is_wp_id };

/// A feature slug: three digits, a hyphen, then lowercase letters, digits and hyphens.
pub(super) const FEATURE_SLUG: Pattern = Pattern { source: r"^\d{3}-[a-z0-9-]+$", matches: is_feature_slug };

/// A feature number: three digits.
pub(super) const FEATURE_NUMBER: Pattern = Pattern { source: r"^\d{3}$", matches: is_feature_number };

/// A set of bytes, as a table to look each byte up in.
struct ByteClass([bool; 256]);

impl ByteClass {
    const fn of(members: &[u8]) -> ByteClass {
        let mut table = [false; 256];
        let mut index = 0;
        while index < members.len() {
            table[members[index] as usize] = true;
            index += 1;
        }
        ByteClass(table)
    }

    /// Whether `text` is `len` bytes, each in the class.
    fn spans(&self, text: &str, len: usize) -> bool {
        text.len() == len && text.bytes().all(|byte| self.0[usize::from(byte)])
    }
}

/// `[0-9A-HJKMNP-TV-Z]`: Crockford's base32 digits, upper case.
const CROCKFORD_UPPER: ByteClass = ByteClass::of(b"0123456789ABCDEFGHJKMNPQRSTVWXYZ");

/// `[0-9a-f]`.
const LOWER_HEX: ByteClass = ByteClass::of(b"0123456789abcdef");

fn is_ulid(text: &str) -> bool {
    CROCKFORD_UPPER.spans(text, 26)
}

fn is_node_id(text: &str) -> bool {
    LOWER_HEX.spans(text, 12)
}

fn is_uuid_v4(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(index, &byte)| match index {
            8 | 13 | 18 | 23 => byte == b'-',
            14 => byte == b'4',
            19 => matches!(byte, b'8' | b'9' | b'a' | b'b'),
            _ => LOWER_HEX.0[usize::from(byte)],
        })
}

fn is_wp_id(text: &str) -> bool {
    text.strip_prefix("WP").is_some_and(|digits| digits.len() == 2 && digits.bytes().all(|b| b.is_ascii_digit()))
}

fn is_feature_slug(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 5
        && bytes[..3].iter().all(u8::is_ascii_digit)
        && bytes[3] == b'-'
        && bytes[4..].iter().all(|&b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
}

fn is_feature_number(text: &str) -> bool {
    text.len() == 3 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: Pattern, good: &[&str], bad: &[&str]) {
        for text in good {
            assert!((pattern.matches)(text), "{} should match {text:?}", pattern.source);
        }
        for text in bad {
            assert!(!(pattern.matches)(text), "{} should not match {text:?}", pattern.source);
        }
    }

    #[test]
    fn ulids_are_26_upper_case_crockford_characters() {
        check(
            ULID,
            &["01JKH5Q8ZX6A7B8C9D0E1F2G3H", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "00000000000000000000000000"],
            &[
                "01JKH5Q8ZX6A7B8C9D0E1F2G3",
                "01JKH5Q8ZX6A7B8C9D0E1F2G3HH",
                "01jkh5q8zx6a7b8c9d0e1f2g3h",
                "01JKH5Q8ZX6A7B8C9D0E1F2G3I",
                "01JKH5Q8ZX6A7B8C9D0E1F2G3L",
                "01JKH5Q8ZX6A7B8C9D0E1F2G3O",
                "01JKH5Q8ZX6A7B8C9D0E1F2G3U",
                "01JKH5Q8ZX6A7B8C9D0E1F2G3\u{c9}",
                "",
            ],
        );
    }

    #[test]
    fn node_ids_are_12_lowercase_hex_digits() {
        check(
            NODE_ID,
            &["d036a097a835", "000000000000"],
            &["d036a097a83", "d036a097a8355", "D036A097A835", "g036a097a835"],
        );
    }

    #[test]
    fn project_uuids_are_lowercase_version_4() {
        check(
            UUID_V4,
            &["5f0c6c8e-3b1f-4c1a-9a51-0d2f3c4b5a69", "00000000-0000-4000-8000-000000000000"],
            &[
                "5f0c6c8e-3b1f-1c1a-9a51-0d2f3c4b5a69",
                "5f0c6c8e-3b1f-4c1a-ca51-0d2f3c4b5a69",
                "5F0C6C8E-3B1F-4C1A-9A51-0D2F3C4B5A69",
                "5f0c6c8e3b1f4c1a9a510d2f3c4b5a69",
                "5f0c6c8e-3b1f-4c1a-9a51-0d2f3c4b5a6",
            ],
        );
    }

    #[test]
    fn digits_are_ascii_and_the_end_is_the_end() {
        check(WP_ID, &["WP01", "WP99", "WP00"], &["WP1", "WP001", "wp01", "WP\u{661}\u{662}", "WP01\n", "WP０１", ""]);
        check(FEATURE_NUMBER, &["028"], &["28", "0280", "\u{660}\u{662}\u{668}", "028\n"]);
        check(
            FEATURE_SLUG,
            &["028-cli-event-emission-sync", "028--", "000-0"],
            &["028-", "28-x", "028-X", "028_x", "028-x\n", "028-é"],
        );
    }
}
