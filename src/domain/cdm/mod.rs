//! Configuration Data Management: applications (and shared libraries) as
//! versioned trees of configuration nodes, changed through changesets,
//! committed with conflict detection, resolved into snapshots per
//! deployable, validated by Rego policies, published and exported.
//!
//! The model in one paragraph: a node's identity is its `main_id`; each
//! change is a new row (a *version*) in `sn_cdm_node`. Versions made inside
//! an open changeset are *pending* (`effective_from` empty); committing
//! stamps them with the commit time and closes the versions they replace
//! (`effective_to`). The committed tree is the versions with
//! `effective_to` empty; the tree "as of" time T is the versions with
//! `effective_from <= T < effective_to`; the tree a changeset sees is the
//! committed one with its pending versions laid over it.

pub mod applications;
pub mod changesets;
pub mod commit;
pub mod deployables;
pub mod editor;
pub mod export;
pub mod hooks;
pub mod jobs;
pub mod mappings;
pub mod overview;
pub mod parse;
pub mod requests;
pub mod shared;
pub mod snapshots;
pub mod tree;
pub mod upload;

use crate::error::{Error, ErrorKind};

/// Node types, as the vendor names them.
pub mod node_type {
    pub const APPLICATION: &str = "sn_cdm_node_application";
    pub const COMPONENT: &str = "sn_cdm_node_component";
    pub const COLLECTION: &str = "sn_cdm_node_collection";
    pub const DEPLOYABLE: &str = "sn_cdm_node_deployable";
    pub const FOLDER: &str = "sn_cdm_node_folder";
    pub const CDI: &str = "sn_cdm_node_cdi";
    pub const VARIABLE: &str = "sn_cdm_node_variable";
    pub const ARRAY: &str = "sn_cdm_node_array";
    pub const LINKED: &str = "sn_cdm_node_linked";
    /// An include of a shared library's component.
    pub const LINKED_SHARED: &str = "sn_cdm_node_linked_shared_component";

    /// Whether a node is an include (of the same application's node or of a
    /// shared library's component).
    pub fn is_include(t: &str) -> bool {
        t == LINKED || t == LINKED_SHARED
    }

    /// The full type for a short or full name given by a client.
    pub fn parse(given: &str) -> Option<&'static str> {
        let short = given.trim().to_ascii_lowercase();
        let short = short
            .strip_prefix("sn_cdm_node_")
            .unwrap_or(&short)
            .to_owned();
        match short.as_str() {
            "component" => Some(COMPONENT),
            "collection" => Some(COLLECTION),
            "folder" => Some(FOLDER),
            "cdi" => Some(CDI),
            "variable" => Some(VARIABLE),
            "array" => Some(ARRAY),
            _ => None,
        }
    }

    /// The label the activity shows (`Deployable`, `Cdi`, ...).
    pub fn label(t: &str) -> String {
        let short = t.strip_prefix("sn_cdm_node_").unwrap_or(t);
        let mut chars = short.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    }
}

/// Names the system folders use, which user nodes may not take.
pub const RESERVED_NAMES: [&str; 4] = ["vars", "collections", "deployables", "components"];

/// Most CDIs a deployable (resolved) or a component may hold; also the most
/// nodes (values and containers alike) one upload may make.
pub const MAX_CDIS: usize = 10_000;
/// Most open changesets an application may have.
pub const MAX_OPEN_CHANGESETS: i64 = 10;
/// Largest upload accepted.
pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;

/// The secure value as every API shows it.
pub const MASK: &str = "*******";

/// An error in the vendor's words: `Error: Unexpected error occurred in
/// <operation> request.Error:<reason>`.
pub fn request_error(operation: &str, reason: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Invalid,
        format!("Error: Unexpected error occurred in {operation} request.Error:{reason}"),
    )
}

/// A plain `Error: <reason>` refusal.
pub fn refusal(reason: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Invalid, format!("Error: {reason}"))
}

/// The radix-57 alphabet of `main_id_encoded` (most significant digit
/// first). It reproduces every pair in the vendor's examples; it leaves out
/// quotes, `%`, `.`, `=`, `^`, `_`, `\` and lower case, which mean something
/// in encoded queries, and `!`, which separates ids in `node_path`.
const RADIX57: &[u8; 57] = b"#$&()+,-/0123456789:;<?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]`{|}~";

pub fn encode_main_id(mut id: i64) -> String {
    if id <= 0 {
        return "#".into();
    }
    let mut digits = Vec::new();
    while id > 0 {
        digits.push(RADIX57[(id % 57) as usize]);
        id /= 57;
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// Parses a changeset number as clients write it (`Chset-42`, `Chset42`,
/// `'chset-42'`) into the canonical `Chset-42`.
pub fn canonical_changeset_number(given: &str) -> Option<String> {
    let t = given.trim().trim_matches(|c| c == '\'' || c == '"');
    let lower = t.to_ascii_lowercase();
    let digits = lower.strip_prefix("chset")?.trim_start_matches('-');
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("Chset-{digits}"))
}

/// Splits a name path (`/app/deployables/Dev_1/cdi`, the backend form
/// separated by U+FFFD, or `['app','deployables']`) into its names.
pub fn split_path(path: &str) -> Vec<String> {
    let t = path.trim();
    if t.starts_with('[') && t.ends_with(']') {
        return t[1..t.len() - 1]
            .split(',')
            .map(|s| s.trim().trim_matches(|c| c == '\'' || c == '"').to_owned())
            .filter(|s| !s.is_empty())
            .collect();
    }
    let separator = if t.contains('\u{FFFD}') {
        '\u{FFFD}'
    } else {
        '/'
    };
    t.split(separator)
        .map(|s| s.replace('\u{200B}', "").trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Parses a query flag as the vendor does (`true`/`false`, any case).
pub fn flag(name: &str, given: Option<&String>, default: bool) -> Result<bool, Error> {
    match given.map(|s| s.trim()) {
        None | Some("") => Ok(default),
        Some(s) => crate::domain::boolean::parse(s)
            .ok_or_else(|| refusal(format!("Invalid boolean value ({s}) for {name}."))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_ids_encode_as_the_vendor_examples_show() {
        for (id, encoded) in [
            (1, "$"),
            (5, "+"),
            (6, ","),
            (150, "&M"),
            (153, "&P"),
            (166, "&`"),
            (483, "/D"),
            (2869, "[:"),
            (2872, "[?"),
            (111668, "K<+"),
            (111700, "K<N"),
        ] {
            assert_eq!(encode_main_id(id), encoded, "{id}");
        }
    }

    #[test]
    fn changeset_numbers_and_paths_read_in_every_documented_form() {
        assert_eq!(
            canonical_changeset_number("Chset783").as_deref(),
            Some("Chset-783")
        );
        assert_eq!(
            canonical_changeset_number("'chset-8'").as_deref(),
            Some("Chset-8")
        );
        assert_eq!(canonical_changeset_number("Chset-x"), None);
        assert_eq!(
            split_path("/testApp/deployables/Dev_1"),
            ["testApp", "deployables", "Dev_1"]
        );
        assert_eq!(
            split_path("['testApp','deployables']"),
            ["testApp", "deployables"]
        );
        assert_eq!(
            split_path("testApp\u{FFFD}\u{200B}components"),
            ["testApp", "components"]
        );
    }
}
