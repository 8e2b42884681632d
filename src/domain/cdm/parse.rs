//! Upload content parsers: JSON, YAML, INI and Java properties, each into
//! a JSON object. A malformed document is refused with the parser's message
//! and the line.

use serde_json::{Map, Value as Json};

use super::refusal;
use crate::error::Result;

pub const FORMATS: [&str; 4] = ["json", "yaml", "ini", "properties"];

/// The deepest nesting an uploaded document may have: the fixed limit of
/// the JSON and YAML parsers, applied to dotted INI and properties keys too
/// (a key of 100,000 dots would otherwise nest as deep, and dropping such a
/// tree recurses past the thread's stack).
pub const MAX_DEPTH: usize = 128;

pub fn parse(format: &str, text: &str) -> Result<Map<String, Json>> {
    let value = match format {
        "json" => serde_json::from_str::<Json>(text)
            .map_err(|e| refusal(format!("Invalid json content: {e}")))?,
        "yaml" => serde_norway::from_str::<Json>(text)
            .map_err(|e| refusal(format!("Invalid yaml content: {e}")))?,
        "ini" => ini(text)?,
        "properties" => properties(text)?,
        other => {
            return Err(refusal(format!(
                "Unsupported dataFormat '{other}': one of {}",
                FORMATS.join(", ")
            )))
        }
    };
    match value {
        Json::Object(map) => Ok(map),
        Json::Null => Ok(Map::new()),
        _ => Err(refusal(format!(
            "Invalid {format} content: the top level must be a map of names to values"
        ))),
    }
}

/// `key=value` (or `key: value`) lines; dots in keys nest.
fn properties(text: &str) -> Result<Json> {
    let mut root = Map::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let split = line.find(['=', ':']).ok_or_else(|| {
            refusal(format!(
                "Invalid properties content: line {}: expected key=value, found {line:?}",
                i + 1
            ))
        })?;
        let key = line[..split].trim();
        if key.is_empty() {
            return Err(refusal(format!(
                "Invalid properties content: line {}: the key is empty",
                i + 1
            )));
        }
        let value = line[split + 1..].trim();
        check_depth(key, i + 1, "properties")?;
        let path: Vec<&str> = key.split('.').collect();
        insert_path(
            &mut root,
            &path,
            Json::String(value.to_owned()),
            i + 1,
            "properties",
        )?;
    }
    Ok(Json::Object(root))
}

/// `[section]` headers (dots nest) and `key=value` lines.
fn ini(text: &str) -> Result<Json> {
    let mut root = Map::new();
    let mut section: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            if !line.ends_with(']') || line.len() < 3 {
                return Err(refusal(format!(
                    "Invalid ini content: line {}: malformed section header {line:?}",
                    i + 1
                )));
            }
            let header = &line[1..line.len() - 1];
            check_depth(header, i + 1, "ini")?;
            section = header.split('.').map(|s| s.trim().to_owned()).collect();
            continue;
        }
        let split = line.find('=').ok_or_else(|| {
            refusal(format!(
                "Invalid ini content: line {}: expected key=value, found {line:?}",
                i + 1
            ))
        })?;
        let key = line[..split].trim();
        if key.is_empty() {
            return Err(refusal(format!(
                "Invalid ini content: line {}: the key is empty",
                i + 1
            )));
        }
        let value = line[split + 1..].trim().trim_matches('"');
        // The section is at most MAX_DEPTH long (checked above) and the key
        // adds one level: `insert_path` refuses a dotted key that goes past.
        let mut path: Vec<&str> = section.iter().map(String::as_str).collect();
        path.push(key);
        insert_path(
            &mut root,
            &path,
            Json::String(value.to_owned()),
            i + 1,
            "ini",
        )?;
    }
    Ok(Json::Object(root))
}

/// Refuses a dotted key or section header nesting past `MAX_DEPTH`,
/// counted before its names are collected: a 5 MB header of dots would
/// otherwise allocate a vector of millions of names (and a `String` each)
/// only to be refused afterwards.
fn check_depth(dotted: &str, line: usize, format: &str) -> Result<()> {
    if dotted.bytes().filter(|&b| b == b'.').count() >= MAX_DEPTH {
        return Err(refusal(format!(
            "Invalid {format} content: line {line}: the key nests deeper than {MAX_DEPTH} levels"
        )));
    }
    Ok(())
}

fn insert_path(
    root: &mut Map<String, Json>,
    path: &[&str],
    value: Json,
    line: usize,
    format: &str,
) -> Result<()> {
    if path.len() > MAX_DEPTH {
        return Err(refusal(format!(
            "Invalid {format} content: line {line}: the key nests deeper than {MAX_DEPTH} levels"
        )));
    }
    let Some((last, parents)) = path.split_last() else {
        return Err(refusal(format!(
            "Invalid {format} content: line {line}: the key is empty"
        )));
    };
    let mut current = root;
    for part in parents {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| Json::Object(Map::new()));
        current = match entry {
            Json::Object(m) => m,
            _ => {
                return Err(refusal(format!(
                "Invalid {format} content: line {line}: '{part}' is a value and a section at once"
            )))
            }
        };
    }
    if matches!(current.get(*last), Some(Json::Object(_))) {
        return Err(refusal(format!(
            "Invalid {format} content: line {line}: '{last}' is a section and a value at once"
        )));
    }
    current.insert(last.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_format_reads_into_a_nested_object() {
        assert_eq!(
            Json::Object(parse("yaml", "db:\n  port: 5432\n  host: a\nname: x\n").unwrap()),
            json!({"db": {"port": 5432, "host": "a"}, "name": "x"})
        );
        assert_eq!(
            Json::Object(parse("properties", "# c\ndb.port=5432\ndb.host = a\n").unwrap()),
            json!({"db": {"port": "5432", "host": "a"}})
        );
        assert_eq!(
            Json::Object(parse("ini", "top=1\n[db]\nport=5432\n").unwrap()),
            json!({"top": "1", "db": {"port": "5432"}})
        );
    }

    #[test]
    fn malformed_content_names_the_line() {
        let e = parse("yaml", "a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.message.contains("line"), "{}", e.message);
        let e = parse("json", "{\n\"a\": }").unwrap_err();
        assert!(e.message.contains("line 2"), "{}", e.message);
        let e = parse("properties", "a=1\nbroken\n").unwrap_err();
        assert!(e.message.contains("line 2"), "{}", e.message);
        let e = parse("ini", "[db\n").unwrap_err();
        assert!(e.message.contains("line 1"), "{}", e.message);
        assert!(parse("json", "[1]").is_err());
        assert!(parse("xml", "<a/>").is_err());
    }

    #[test]
    fn keys_nesting_deeper_than_the_limit_are_refused() {
        let deep = format!("{}=1", vec!["a"; 100_000].join("."));
        let err = parse("properties", &deep).unwrap_err();
        assert!(err.message.contains("deeper than 128"), "{}", err.message);
        let section = format!("[{}]\nk=1", vec!["a"; 200].join("."));
        assert!(parse("ini", &section).is_err());
        let ok = format!("{}=1", vec!["a"; 128].join("."));
        assert!(parse("properties", &ok).is_ok());
    }

    #[test]
    fn section_headers_and_keys_past_the_depth_limit_are_refused_before_their_names_are_collected()
    {
        // A header alone, with no key under it: it used to be split into a
        // vector of every name and kept, and only a key line below it was
        // refused. It is refused at the header, by counting its dots.
        let header = format!("[{}]\n", vec!["a"; 200_000].join("."));
        let err = parse("ini", &header).unwrap_err();
        assert!(err.message.contains("line 1"), "{}", err.message);
        assert!(err.message.contains("deeper than 128"), "{}", err.message);
        let last = format!("ok=1\n[{}]\n", vec!["a"; 129].join("."));
        let err = parse("ini", &last).unwrap_err();
        assert!(err.message.contains("line 2"), "{}", err.message);
        // 128 levels of section are taken (a key below them goes one past).
        let at_limit = format!("[{}]\n", vec!["a"; 128].join("."));
        assert!(parse("ini", &at_limit).is_ok());
        let err = parse("ini", &format!("{at_limit}k=1\n")).unwrap_err();
        assert!(err.message.contains("line 2"), "{}", err.message);
        // Properties keys are counted the same way.
        let key = format!("{}=1", vec!["a"; 129].join("."));
        let err = parse("properties", &key).unwrap_err();
        assert!(err.message.contains("deeper than 128"), "{}", err.message);
    }

    #[test]
    fn yaml_alias_bombs_and_deep_documents_are_refused() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, name) in ["b", "c", "d", "e", "f", "g", "h", "i"].iter().enumerate() {
            let prev = if i == 0 {
                "a"
            } else {
                ["b", "c", "d", "e", "f", "g", "h"][i - 1]
            };
            bomb.push_str(&format!(
                "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let err = parse("yaml", &bomb).unwrap_err();
        assert!(err.message.contains("limit"), "{}", err.message);
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse("yaml", &deep).is_err());
        assert!(parse("json", &deep).is_err());
    }
}
