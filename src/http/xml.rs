//! XML for the CI/CD family, whose endpoints accept and answer
//! `application/xml` as well as JSON. Handlers only ever see and produce
//! JSON: an XML body becomes the JSON object of its root element's
//! children (in the body extractor, so after authentication), and a JSON
//! answer becomes `<response>...</response>` with one element per field,
//! when the client's `Accept` prefers XML.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value as Json};

use super::envelope::{render, Family};
use crate::error::Error;

/// Marks a request to a family that speaks XML (set by [`negotiate`], the
/// layer on that family's router), so the body extractor reads XML bodies.
#[derive(Clone, Copy, Debug)]
pub struct SpeaksXml;

/// Whether the request's body is XML.
pub fn is_xml_body(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("xml"))
}

/// The layer of the families that speak XML (`/api/sn_cicd`): marks the
/// request so an XML body is read as one, and turns the answer into XML when
/// the client's `Accept` prefers it. The request body is not read here: that
/// happens in the body extractor, after authentication.
pub async fn negotiate(mut request: Request, next: Next) -> Response {
    request.extensions_mut().insert(SpeaksXml);
    let wants_xml = prefers_xml(request.headers());
    let response = next.run(request).await;
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

/// An XML request body as the JSON object of its root element's children.
pub fn body_as_json_object(bytes: &[u8], max_depth: usize) -> Result<Map<String, Json>, Error> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::malformed("The XML body is not valid UTF-8"))?;
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match parse(text, max_depth)
        .map_err(|e| Error::malformed(format!("Malformed XML in the request body: {e}")))?
    {
        Json::Object(map) => Ok(map),
        Json::String(s) if s.is_empty() => Ok(Map::new()),
        _ => Err(Error::malformed(
            "The XML body's root element must contain elements",
        )),
    }
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
/// instructions and CDATA are handled; a document type declaration (and so
/// any entity of its own) is refused, and so is nesting deeper than
/// `max_depth` elements. The reader is quick-xml's streaming reader and the
/// tree is built with an explicit stack, so no input can exhaust the
/// thread's stack.
pub fn parse(text: &str, max_depth: usize) -> Result<Json, String> {
    use quick_xml::events::Event;

    /// An element being read: its name, its text so far, its children.
    struct Open {
        name: String,
        text: String,
        children: Map<String, Json>,
    }

    impl Open {
        fn new(name: &str) -> Open {
            Open {
                name: name.to_owned(),
                text: String::new(),
                children: Map::new(),
            }
        }

        fn into_value(self) -> (String, Json) {
            if self.children.is_empty() {
                (self.name, Json::String(self.text.trim().to_owned()))
            } else {
                (self.name, Json::Object(self.children))
            }
        }
    }

    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Json> = None;
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| format!("{e} (near byte {position})"))?;
        let closed = match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(format!(
                    "unexpected content after the root element at byte {position}"
                ));
            }
            Event::Start(start) => {
                if stack.len() >= max_depth {
                    return Err(format!(
                        "elements are nested deeper than {max_depth} levels"
                    ));
                }
                stack.push(Open::new(start.name().as_ref()));
                None
            }
            Event::Empty(start) => {
                if stack.len() >= max_depth {
                    return Err(format!(
                        "elements are nested deeper than {max_depth} levels"
                    ));
                }
                Some(Open::new(start.name().as_ref()))
            }
            Event::End(_) => stack.pop(),
            Event::Text(t) => {
                let content = t.xml10_content();
                match stack.last_mut() {
                    Some(open) => open.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => {
                        return Err(format!("text outside the root element at byte {position}"))
                    }
                }
                None
            }
            Event::CData(c) => {
                let content = c.into_inner();
                match stack.last_mut() {
                    Some(open) => open.text.push_str(&content),
                    None => {
                        return Err(format!("CDATA outside the root element at byte {position}"))
                    }
                }
                None
            }
            Event::GeneralRef(r) => {
                let name = r.xml10_content();
                let resolved = quick_xml::escape::unescape(&format!("&{name};"))
                    .map_err(|_| format!("unknown entity &{name};"))?
                    .into_owned();
                match stack.last_mut() {
                    Some(open) => open.text.push_str(&resolved),
                    None => {
                        return Err(format!(
                            "an entity outside the root element at byte {position}"
                        ))
                    }
                }
                None
            }
            Event::DocType(_) => {
                return Err("document type declarations are not accepted".into());
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => None,
            Event::Eof => break,
        };
        if let Some(element) = closed {
            let (name, value) = element.into_value();
            match stack.last_mut() {
                Some(parent) => match parent.children.get_mut(&name) {
                    Some(Json::Array(items)) => items.push(value),
                    Some(existing) => {
                        let first = existing.take();
                        *existing = Json::Array(vec![first, value]);
                    }
                    None => {
                        parent.children.insert(name, value);
                    }
                },
                None => root = Some(value),
            }
        }
    }
    match (root, stack.last()) {
        (Some(value), None) => Ok(value),
        (_, Some(open)) => Err(format!("element <{}> is not closed", open.name)),
        (None, None) => Err("the document has no root element".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_flat_request_body_reads_as_an_object() {
        let v = parse("<?xml version=\"1.0\"?>\n<request><force_commit>true</force_commit><name>a &amp; b &#x41;</name></request>", 8).unwrap();
        assert_eq!(v, json!({"force_commit": "true", "name": "a & b A"}));
    }

    #[test]
    fn repeated_children_become_arrays_and_bad_documents_are_refused() {
        let v = parse("<r><id>1</id><id>2</id><e/><c><![CDATA[<x>]]></c></r>", 8).unwrap();
        assert_eq!(v, json!({"id": ["1", "2"], "e": "", "c": "<x>"}));
        assert!(parse("<r><a>1</b></r>", 8).is_err());
        assert!(parse("<r><a>1</a>", 8).is_err());
        assert!(parse("<r/><s/>", 8).is_err());
        assert!(parse("<!DOCTYPE x [<!ENTITY e \"x\">]><r/>", 8).is_err());
        assert!(parse("<r>&bogus;</r>", 8).is_err());
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_refused_without_recursion() {
        let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        let err = parse(&deep, 32).unwrap_err();
        assert!(err.contains("deeper than 32"), "{err}");
        let ok = format!("{}x{}", "<a>".repeat(32), "</a>".repeat(32));
        assert!(parse(&ok, 32).is_ok());
        let empty_too_deep = format!("{}<b/>{}", "<a>".repeat(32), "</a>".repeat(32));
        assert!(parse(&empty_too_deep, 32).is_err());
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

    /// Fuzzing (bounded: a fixed number of generated documents per run):
    /// any text is read or refused without panicking, never nests past the
    /// limit, and what is read renders back to the same value.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        const TOKENS: &[&str] = &[
            "<a>",
            "</a>",
            "<b>",
            "</b>",
            "<c x=\"1\">",
            "</c>",
            "<d/>",
            "text",
            " ",
            "\n",
            "&amp;",
            "&lt;",
            "&#x41;",
            "&#65;",
            "&#xFFFFFFFF;",
            "&bogus;",
            "&",
            "<![CDATA[x<y]]>",
            "<!--c-->",
            "<?pi x?>",
            "<?xml version=\"1.0\"?>",
            "<!DOCTYPE a>",
            "<",
            ">",
            "\"",
            "é",
            "]]>",
            "</",
        ];

        fn document() -> impl Strategy<Value = String> {
            prop_oneof![
                proptest::collection::vec(proptest::sample::select(TOKENS), 0..80)
                    .prop_map(|t| t.concat()),
                ".{0,200}",
                (1usize..200).prop_map(|n| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n))),
            ]
        }

        fn depth(value: &Json) -> usize {
            match value {
                Json::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
                Json::Array(a) => a.iter().map(depth).max().unwrap_or(0),
                _ => 1,
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

            #[test]
            fn any_document_is_read_or_refused_and_reads_round_trip(text in document()) {
                if let Ok(value) = parse(&text, 16) {
                    prop_assert!(depth(&value) <= 16, "{value}");
                    let mut rendered = String::new();
                    element(&mut rendered, "r", &value);
                    let again = parse(&rendered, 16);
                    prop_assert_eq!(again.as_ref().ok(), Some(&value), "{}", rendered);
                }
            }
        }
    }
}
