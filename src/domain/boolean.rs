//! Booleans as clients spell them. The vendor reads a flag case-blind
//! (`true`, `True`, `TRUE`; Python's `str(False)` is `False`), so every
//! boolean of every family (query strings, forms, JSON strings and record
//! fields) is read here, and an unrecognised spelling is refused by name
//! rather than taken for false.

use serde_json::Value as Json;

use crate::error::{Error, Result};

/// `true` / `false` in any case, around spaces.
pub fn parse(text: &str) -> Option<bool> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("true") {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// The value of a boolean record field: also `1` and `0`, which the
/// vendor's records take for true and false.
pub fn parse_field(text: &str) -> Option<bool> {
    match text.trim() {
        "1" => Some(true),
        "0" => Some(false),
        t => parse(t),
    }
}

/// A JSON boolean, or a string [`parse`] reads.
pub fn from_json(value: &Json) -> Option<bool> {
    match value {
        Json::Bool(b) => Some(*b),
        Json::String(s) => parse(s),
        _ => None,
    }
}

/// A query or form flag: `default` when absent or empty, else its value;
/// any other spelling is a 400 naming the parameter.
pub fn flag(name: &str, given: Option<&str>, default: bool) -> Result<bool> {
    match given.map(str::trim) {
        None | Some("") => Ok(default),
        Some(text) => parse(text).ok_or_else(|| not_a_boolean(name, text)),
    }
}

/// The refusal of a value that is not a boolean.
pub fn not_a_boolean(name: &str, text: &str) -> Error {
    Error::invalid(name, format!("{text:?} is not true or false"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_case_is_read_and_other_words_are_not() {
        for t in ["true", "True", "TRUE", " tRuE "] {
            assert_eq!(parse(t), Some(true), "{t}");
        }
        for t in ["false", "False", "FALSE"] {
            assert_eq!(parse(t), Some(false), "{t}");
        }
        for t in ["", "yes", "1", "0", "truex", "t"] {
            assert_eq!(parse(t), None, "{t}");
        }
        assert_eq!(parse_field("1"), Some(true));
        assert_eq!(parse_field("0"), Some(false));
        assert_eq!(parse_field("False"), Some(false));
        assert_eq!(parse_field("2"), None);
    }

    #[test]
    fn a_flag_defaults_when_absent_and_names_itself_when_wrong() {
        assert!(flag("f", None, true).unwrap());
        assert!(!flag("f", Some(""), false).unwrap());
        assert!(flag("f", Some("True"), false).unwrap());
        let err = flag("sysparm_x", Some("maybe"), false).unwrap_err();
        assert!(err.message.contains("sysparm_x"), "{}", err.message);
        assert!(err.message.contains("maybe"), "{}", err.message);
    }

    #[test]
    fn json_takes_booleans_and_their_spellings() {
        assert_eq!(from_json(&Json::Bool(false)), Some(false));
        assert_eq!(from_json(&Json::String("TRUE".into())), Some(true));
        assert_eq!(from_json(&Json::Number(1.into())), None);
    }
}
