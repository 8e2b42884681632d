//! Exports: a deployable's snapshot rendered as JSON, YAML, properties or
//! INI, rooted at the deployable's name. Secure values stay encrypted in
//! the rendering and are revealed (or masked) when a reader fetches it, by
//! what that reader may see.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use super::{refusal, MASK};
use crate::error::Result;
use crate::storage::Db;

pub const FORMATS: [&str; 4] = ["json", "yaml", "properties", "ini"];

/// Refuses a `dataFormat` that is not one of [`FORMATS`], before any work.
pub fn check_format(format: &str) -> Result<()> {
    if FORMATS.contains(&format) {
        return Ok(());
    }
    Err(refusal(format!(
        "Invalid dataFormat '{format}': one of {}",
        FORMATS.join(", ")
    )))
}

/// Renders `config` under `root` in `format`: an object for JSON, text
/// otherwise.
pub fn render(format: &str, root: &str, config: &Map<String, Json>) -> Result<Json> {
    let mut wrapped = Map::new();
    wrapped.insert(root.to_owned(), Json::Object(config.clone()));
    match format {
        "json" => Ok(Json::Object(wrapped)),
        "yaml" => serde_norway::to_string(&Json::Object(wrapped))
            .map(|text| Json::String(quote_yaml_tokens(&text)))
            .map_err(|e| refusal(format!("Could not render yaml: {e}"))),
        "properties" => {
            let mut lines = Vec::new();
            flatten(&Json::Object(wrapped), String::new(), &mut lines);
            Ok(Json::String(lines.join("\n")))
        }
        "ini" => Ok(Json::String(ini(root, config))),
        other => Err(refusal(format!(
            "Unsupported dataFormat '{other}': one of {}",
            FORMATS.join(", ")
        ))),
    }
}

/// Writes every secure value (a ciphertext token that is a whole plain
/// scalar: `key: enc:v2:...` or `- enc:v2:...`) double-quoted, so that what
/// replaces it when a reader fetches the export (`*******` masked, which
/// unquoted would start a YAML alias, or the value in clear, escaped by
/// [`replace_tokens`]) stays one valid string.
fn quote_yaml_tokens(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len());
    for (i, line) in yaml.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let tokens = crate::secrets::tokens(line);
        match tokens.last() {
            Some(&(start, end))
                if end == line.len()
                    && (line[..start].ends_with(": ") || line[..start].trim_start() == "- ") =>
            {
                out.push_str(&line[..start]);
                out.push('"');
                out.push_str(&line[start..end]);
                out.push('"');
            }
            _ => out.push_str(line),
        }
    }
    out
}

fn leaf(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn flatten(v: &Json, prefix: String, out: &mut Vec<String>) {
    match v {
        Json::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(v, key, out);
            }
        }
        Json::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(v, format!("{prefix}[{i}]"), out);
            }
        }
        other => out.push(format!("{prefix}={}", leaf(other))),
    }
}

/// INI: the deployable's scalars under `[root]`, each nested object as a
/// `[root.path]` section.
fn ini(root: &str, config: &Map<String, Json>) -> String {
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    fn walk(path: String, m: &Map<String, Json>, sections: &mut Vec<(String, Vec<String>)>) {
        let mut lines = Vec::new();
        for (k, v) in m {
            match v {
                Json::Object(_) => {}
                Json::Array(_) => {
                    let mut flat = Vec::new();
                    flatten(v, k.clone(), &mut flat);
                    lines.extend(flat);
                }
                other => lines.push(format!("{k}={}", leaf(other))),
            }
        }
        sections.push((path.clone(), lines));
        for (k, v) in m {
            if let Json::Object(child) = v {
                walk(format!("{path}.{k}"), child, sections);
            }
        }
    }
    walk(root.to_owned(), config, &mut sections);
    sections
        .into_iter()
        .filter(|(_, lines)| !lines.is_empty())
        .map(|(name, lines)| format!("[{name}]\n{}", lines.join("\n")))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// An export's content as a reader sees it: secure values in clear when
/// `clear` (the caller holds the secrets role), masked otherwise. A token
/// that does not open as a CDM secure value (retired enc:v1, or text that
/// only looks like a ciphertext) stays masked: revealed is only what the
/// server sealed for CDM.
pub async fn content_for_reader(db: &Db, content: &Json, clear: bool) -> Json {
    if !clear {
        return reveal_secrets(content, &|_| None);
    }
    let mut tokens = Vec::new();
    collect_tokens(content, &mut tokens);
    let mut opened = HashMap::new();
    for t in tokens {
        match crate::secrets::decrypt(db, &t, &crate::secrets::Binding::cdm_secure_value()).await {
            Ok(v) => {
                opened.insert(t, v);
            }
            Err(err) => tracing::warn!(error = %err.message, "an export token stays masked"),
        }
    }
    reveal_secrets(content, &|t| opened.get(t).cloned())
}

fn collect_tokens(v: &Json, out: &mut Vec<String>) {
    match v {
        Json::Object(m) => m.values().for_each(|v| collect_tokens(v, out)),
        Json::Array(items) => items.iter().for_each(|v| collect_tokens(v, out)),
        Json::String(s) => {
            out.extend(
                crate::secrets::tokens(s)
                    .into_iter()
                    .map(|(start, end)| s[start..end].to_owned()),
            );
        }
        _ => {}
    }
}

/// Replaces the encrypted secure values in a rendering: decrypted with
/// `reveal`, `*******` without.
pub fn reveal_secrets(rendered: &Json, reveal: &dyn Fn(&str) -> Option<String>) -> Json {
    match rendered {
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), reveal_secrets(v, reveal)))
                .collect(),
        ),
        Json::Array(items) => {
            Json::Array(items.iter().map(|v| reveal_secrets(v, reveal)).collect())
        }
        Json::String(s) => Json::String(replace_tokens(s, reveal)),
        other => other.clone(),
    }
}

fn replace_tokens(text: &str, reveal: &dyn Fn(&str) -> Option<String>) -> String {
    let tokens = crate::secrets::tokens(text);
    if tokens.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in tokens {
        out.push_str(&text[last..start]);
        let shown = reveal(&text[start..end]).unwrap_or_else(|| MASK.to_owned());
        // A token written double-quoted (YAML) takes its value escaped.
        if text[..start].ends_with('"') && text[end..].starts_with('"') {
            let quoted = Json::String(shown).to_string();
            out.push_str(&quoted[1..quoted.len() - 1]);
        } else {
            out.push_str(&shown);
        }
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

/// An export as a file to download: its name, media type and text.
pub struct Download {
    pub file_name: String,
    pub content_type: &'static str,
    pub text: String,
}

/// A snapshot rendered in `format` as a file, secure values masked (the
/// console's export download: what the export API's content answers a
/// reader without the secrets role).
pub async fn download(db: &Db, snapshot_id: &str, format: &str) -> Result<Download> {
    check_format(format)?;
    let mut tx = db.begin_read().await?;
    let snapshot = super::snapshots::require(&mut tx, snapshot_id, "export").await;
    tx.rollback().await?;
    let snapshot = snapshot?;
    let config: Map<String, Json> =
        serde_json::from_str(&snapshot.string("content")).unwrap_or_default();
    let rendered = render(format, &snapshot.string("deployable_name"), &config)?;
    let shown = content_for_reader(db, &rendered, false).await;
    let text = match shown {
        Json::String(s) => s,
        other => serde_json::to_string_pretty(&other).unwrap_or_default(),
    };
    let stem: String = snapshot
        .string("name")
        .trim_end_matches(".dpl")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let content_type = match format {
        "json" => "application/json",
        "yaml" => "application/yaml",
        _ => "text/plain; charset=utf-8",
    };
    Ok(Download {
        file_name: format!("{stem}.{format}"),
        content_type,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renderings_are_rooted_at_the_deployable() {
        let config = json!({"COMP": {"cdi_1": "cdi-1-value", "list": [1, 2]}, "top": "x"});
        let config = config.as_object().unwrap();
        assert_eq!(
            render("properties", "DEP1", config).unwrap(),
            json!(
                "DEP1.COMP.cdi_1=cdi-1-value\nDEP1.COMP.list[0]=1\nDEP1.COMP.list[1]=2\nDEP1.top=x"
            )
        );
        assert_eq!(render("json", "DEP1", config).unwrap()["DEP1"]["top"], "x");
        let yaml = render("yaml", "DEP1", config).unwrap();
        assert!(yaml.as_str().unwrap().contains("cdi_1: cdi-1-value"));
        let ini = render("ini", "DEP1", config).unwrap();
        assert_eq!(
            ini,
            json!("[DEP1]\ntop=x\n\n[DEP1.COMP]\ncdi_1=cdi-1-value\nlist[0]=1\nlist[1]=2")
        );
    }

    #[test]
    fn a_masked_or_revealed_secure_value_is_valid_yaml() {
        let config =
            json!({"db": {"password": "enc:v2:QUJD", "user": "app"}, "keys": ["enc:v2:REVG"]});
        let yaml = render("yaml", "DEP1", config.as_object().unwrap()).unwrap();
        let masked = reveal_secrets(&yaml, &|_| None);
        let parsed: Json = serde_norway::from_str(masked.as_str().unwrap()).expect("valid YAML");
        assert_eq!(parsed["DEP1"]["db"]["password"], MASK);
        assert_eq!(parsed["DEP1"]["keys"][0], MASK);
        assert_eq!(parsed["DEP1"]["db"]["user"], "app");
        let hard = "s3\"cr\\et: *x";
        let clear = reveal_secrets(&yaml, &|_| Some(hard.into()));
        let parsed: Json = serde_norway::from_str(clear.as_str().unwrap()).expect("valid YAML");
        assert_eq!(parsed["DEP1"]["db"]["password"], hard);
        // JSON and properties keep the value as it is.
        let props = render("properties", "DEP1", config.as_object().unwrap()).unwrap();
        assert_eq!(
            reveal_secrets(&props, &|_| None),
            json!("DEP1.db.password=*******\nDEP1.db.user=app\nDEP1.keys[0]=*******")
        );
    }

    #[test]
    fn secure_values_are_masked_unless_revealed() {
        let text = json!("password=enc:v2:QUJD\nuser=a\nold=enc:v1:QUJD");
        assert_eq!(
            reveal_secrets(&text, &|_| None),
            json!("password=*******\nuser=a\nold=*******")
        );
        assert_eq!(
            reveal_secrets(&text, &|_| Some("s3cret".into())),
            json!("password=s3cret\nuser=a\nold=s3cret")
        );
    }
}
