//! XML for the CI/CD family, whose endpoints accept and answer
//! `application/xml` as well as JSON. Handlers only ever see and produce
//! JSON: an XML body becomes the JSON object of its root element's
//! children, and a JSON answer becomes `<response>...</response>` with one
//! element per field, when the client's `Accept` prefers XML.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value as Json};

use super::envelope::{render, Family};
use crate::error::Error;

/// Largest XML request body (the CI/CD requests are a few flags).
const MAX_XML_BODY: usize = 64 * 1024;

/// Negotiates XML for `/api/sn_cicd` requests; other paths pass through.
pub async fn negotiate(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/sn_cicd") {
        return next.run(request).await;
    }
    let wants_xml = prefers_xml(request.headers());
    let response = match xml_body_as_json(request).await {
        Ok(request) => next.run(request).await,
        Err(error) => render(Family::ServiceNow, &error),
    };
    if wants_xml {
        to_xml_response(response).await
    } else {
        response
    }
}

/// Whether `Accept` names XML before (or without) JSON.
fn prefers_xml(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    match (
        accept.find("application/xml"),
        accept.find("application/json"),
    ) {
        (Some(x), Some(j)) => x < j,
        (Some(_), None) => true,
        _ => false,
    }
}

async fn xml_body_as_json(request: Request) -> Result<Request, Error> {
    let is_xml = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("xml"));
    if !is_xml {
        return Ok(request);
    }
    let (mut parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_XML_BODY)
        .await
        .map_err(|_| {
            Error::malformed(format!("The XML body is larger than {MAX_XML_BODY} bytes"))
        })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::malformed("The XML body is not valid UTF-8"))?;
    let json = if text.trim().is_empty() {
        Json::Object(Map::new())
    } else {
        parse(text)
            .map_err(|e| Error::malformed(format!("Malformed XML in the request body: {e}")))?
    };
    let json = match json {
        Json::Object(map) => Json::Object(map),
        Json::String(s) if s.is_empty() => Json::Object(Map::new()),
        _ => {
            return Err(Error::malformed(
                "The XML body's root element must contain elements",
            ))
        }
    };
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Ok(Request::from_parts(parts, Body::from(json.to_string())))
}

async fn to_xml_response(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return render(
            Family::ServiceNow,
            &Error::internal("answer body unreadable"),
        );
    };
    let Ok(json) = serde_json::from_slice::<Json>(&bytes) else {
        return render(
            Family::ServiceNow,
            &Error::internal("answer body is not JSON"),
        );
    };
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    element(&mut xml, "response", &json);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(xml))
}

/// Writes `value` as element `name`: objects as child elements, arrays as
/// the element repeated, null as an empty element.
pub fn element(out: &mut String, name: &str, value: &Json) {
    match value {
        Json::Array(items) => {
            for item in items {
                element(out, name, item);
            }
        }
        Json::Object(map) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in map {
                element(out, k, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Json::Null => out.push_str(&format!("<{name}/>")),
        Json::String(s) => out.push_str(&format!("<{name}>{}</{name}>", escape(s))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Parses an XML document into JSON: an element with child elements is an
/// object (a repeated child becomes an array), one with only text a string.
/// The root element itself is dropped. Attributes, comments, processing
/// instructions and CDATA markers are handled; DTDs are refused.
pub fn parse(text: &str) -> Result<Json, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    p.skip_misc()?;
    let (_, value) = p.element()?;
    p.skip_misc()?;
    if p.i < p.s.len() {
        return Err(format!(
            "unexpected content after the root element at byte {}",
            p.i
        ));
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn starts(&self, prefix: &str) -> bool {
        self.s[self.i..].starts_with(prefix.as_bytes())
    }

    fn skip_until(&mut self, end: &str) -> Result<(), String> {
        match find(&self.s[self.i..], end.as_bytes()) {
            Some(n) => {
                self.i += n + end.len();
                Ok(())
            }
            None => Err(format!("unterminated markup, expected {end:?}")),
        }
    }

    /// Whitespace, the XML declaration, comments and processing instructions.
    fn skip_misc(&mut self) -> Result<(), String> {
        loop {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
            if self.starts("<?") {
                self.skip_until("?>")?;
            } else if self.starts("<!--") {
                self.skip_until("-->")?;
            } else if self.starts("<!") && !self.starts("<![CDATA[") {
                return Err("document type declarations are not accepted".into());
            } else {
                return Ok(());
            }
        }
    }

    fn name(&mut self) -> Result<String, String> {
        let start = self.i;
        while self.i < self.s.len()
            && !self.s[self.i].is_ascii_whitespace()
            && !matches!(self.s[self.i], b'>' | b'/' | b'=')
        {
            self.i += 1;
        }
        if start == self.i {
            return Err(format!("an element name was expected at byte {start}"));
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn element(&mut self) -> Result<(String, Json), String> {
        if !self.starts("<") {
            return Err(format!("an element was expected at byte {}", self.i));
        }
        self.i += 1;
        let name = self.name()?;
        // Attributes are skipped (quoted values may hold '>').
        loop {
            match self.s.get(self.i) {
                None => return Err(format!("unterminated start tag <{name}>")),
                Some(b'"') | Some(b'\'') => {
                    let q = self.s[self.i] as char;
                    self.i += 1;
                    self.skip_until(&q.to_string())?;
                }
                Some(b'/') if self.s.get(self.i + 1) == Some(&b'>') => {
                    self.i += 2;
                    return Ok((name, Json::String(String::new())));
                }
                Some(b'>') => {
                    self.i += 1;
                    break;
                }
                Some(_) => self.i += 1,
            }
        }
        let mut text = String::new();
        let mut children: Map<String, Json> = Map::new();
        loop {
            if self.i >= self.s.len() {
                return Err(format!("element <{name}> is not closed"));
            }
            if self.starts("</") {
                self.i += 2;
                let closing = self.name()?;
                if closing != name {
                    return Err(format!("</{closing}> closes <{name}>"));
                }
                self.skip_until(">")?;
                break;
            } else if self.starts("<![CDATA[") {
                self.i += 9;
                let start = self.i;
                self.skip_until("]]>")?;
                text.push_str(&String::from_utf8_lossy(&self.s[start..self.i - 3]));
            } else if self.starts("<!--") || self.starts("<?") {
                self.skip_misc()?;
            } else if self.starts("<") {
                let (child, value) = self.element()?;
                match children.get_mut(&child) {
                    Some(Json::Array(items)) => items.push(value),
                    Some(existing) => {
                        let first = existing.take();
                        *existing = Json::Array(vec![first, value]);
                    }
                    None => {
                        children.insert(child, value);
                    }
                }
            } else {
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i] != b'<' {
                    self.i += 1;
                }
                text.push_str(&unescape(&String::from_utf8_lossy(&self.s[start..self.i]))?);
            }
        }
        if children.is_empty() {
            Ok((name, Json::String(text.trim().to_owned())))
        } else {
            Ok((name, Json::Object(children)))
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after
            .find(';')
            .ok_or_else(|| "an entity without its ';'".to_owned())?;
        let entity = &after[..semi];
        let c = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| format!("unknown entity &{e};"))?,
            e if e.starts_with('#') => e[1..]
                .parse::<u32>()
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| format!("unknown entity &{e};"))?,
            e => return Err(format!("unknown entity &{e};")),
        };
        out.push(c);
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_flat_request_body_reads_as_an_object() {
        let v = parse("<?xml version=\"1.0\"?>\n<request><force_commit>true</force_commit><name>a &amp; b</name></request>").unwrap();
        assert_eq!(v, json!({"force_commit": "true", "name": "a & b"}));
    }

    #[test]
    fn repeated_children_become_arrays_and_bad_documents_are_refused() {
        let v = parse("<r><id>1</id><id>2</id><e/></r>").unwrap();
        assert_eq!(v, json!({"id": ["1", "2"], "e": ""}));
        assert!(parse("<r><a>1</b></r>").is_err());
        assert!(parse("<r><a>1</a>").is_err());
        assert!(parse("<!DOCTYPE x [<!ENTITY e \"x\">]><r/>").is_err());
        assert!(parse("<r>&bogus;</r>").is_err());
    }

    #[test]
    fn answers_render_as_elements() {
        let mut out = String::new();
        element(
            &mut out,
            "response",
            &json!({"result": {"status": "0", "percent_complete": 0, "error": "a<b"}}),
        );
        assert_eq!(
            out,
            // serde_json keeps object keys sorted.
            "<response><result><error>a&lt;b</error><percent_complete>0</percent_complete><status>0</status></result></response>"
        );
    }
}
