//! `multipart/form-data` bodies (RFC 7578), as the Attachment API's upload
//! and the console's upload form send them: read under the attachment size
//! limit (plus room for the framing) and split into parts.

use axum::extract::Request;
use axum::http::header;

use super::extract::read_body;
use crate::error::{Error, Result};

/// Room for the multipart framing (boundaries, part headers, the form
/// fields) on top of the file itself.
pub const OVERHEAD: usize = 64 * 1024;

/// Most parts read from a multipart upload.
const MAX_PARTS: usize = 16;

/// A multipart body read whole, with its boundary.
pub struct Form {
    body: axum::body::Bytes,
    boundary: String,
}

impl Form {
    /// The body's parts.
    pub fn parts(&self) -> Result<Vec<Part<'_>>> {
        parts(&self.body, &self.boundary)
    }
}

/// Reads a `multipart/form-data` request whose file may be up to
/// `max_file` bytes (the body may be [`OVERHEAD`] more); a request of
/// another type, or without a boundary, is malformed.
pub async fn read(request: Request, max_file: usize) -> Result<Form> {
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(boundary)
        .ok_or_else(|| {
            Error::malformed("The request body must be multipart/form-data with a boundary")
        })?;
    let body = read_body(request, max_file.saturating_add(OVERHEAD)).await?;
    Ok(Form { body, boundary })
}

/// The value of the form field `name` (a part without a file name),
/// trimmed; None when absent, blank or not UTF-8.
pub fn field<'a>(parts: &'a [Part<'_>], name: &str) -> Option<&'a str> {
    parts
        .iter()
        .find(|p| p.name == name && p.file_name.is_none())
        .and_then(|p| std::str::from_utf8(p.data).ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The file: the last part with a file name (the vendor reads the final
/// part).
pub fn file<'p, 'a>(parts: &'p [Part<'a>]) -> Option<&'p Part<'a>> {
    parts.iter().rev().find(|p| p.file_name.is_some())
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let media = params.next()?.trim();
    if !media.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim().trim_matches('"');
        (!value.is_empty() && value.len() <= 70).then(|| value.to_owned())
    })
}

/// One part of a multipart body.
pub struct Part<'a> {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: &'a [u8],
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// Splits a `multipart/form-data` body (RFC 7578) into its parts.
pub fn parts<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>> {
    let malformed = |why: &str| Error::malformed(format!("Malformed multipart body: {why}"));
    let opening = format!("--{boundary}");
    let delimiter = format!("\r\n--{boundary}");
    let mut at =
        find(body, opening.as_bytes(), 0).ok_or_else(|| malformed("no boundary"))? + opening.len();
    let mut parts = Vec::new();
    loop {
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        if !body[at..].starts_with(b"\r\n") {
            return Err(malformed("a boundary is not followed by a line end"));
        }
        at += 2;
        let head_end =
            find(body, b"\r\n\r\n", at).ok_or_else(|| malformed("a part has no end of headers"))?;
        let head = std::str::from_utf8(&body[at..head_end])
            .map_err(|_| malformed("part headers are not UTF-8"))?;
        let data_start = head_end + 4;
        let data_end = find(body, delimiter.as_bytes(), data_start)
            .ok_or_else(|| malformed("a part has no closing boundary"))?;
        if parts.len() == MAX_PARTS {
            return Err(malformed(&format!("more than {MAX_PARTS} parts")));
        }
        let mut part = Part {
            name: String::new(),
            file_name: None,
            content_type: None,
            data: &body[data_start..data_end],
        };
        for line in head.split("\r\n") {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let name = name.trim();
            if name.eq_ignore_ascii_case("content-disposition") {
                for param in disposition_params(value) {
                    match param.0.to_ascii_lowercase().as_str() {
                        "name" => part.name = param.1,
                        "filename" => part.file_name = Some(param.1),
                        _ => {}
                    }
                }
            } else if name.eq_ignore_ascii_case("content-type") {
                part.content_type = Some(value.trim().to_owned());
            }
        }
        parts.push(part);
        at = data_end + delimiter.len();
    }
}

/// The `name=value` parameters of a Content-Disposition value (values
/// quoted or not; `\"` inside quotes).
fn disposition_params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = value;
    // Skip the disposition type (`form-data`).
    match rest.find(';') {
        Some(i) => rest = &rest[i + 1..],
        None => return out,
    }
    loop {
        rest = rest.trim_start();
        let Some(eq) = rest.find('=') else {
            return out;
        };
        let name = rest[..eq].trim().to_owned();
        rest = &rest[eq + 1..];
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, next)) = chars.next() {
                            v.push(next);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => v.push(c),
                }
            }
            value = v;
            rest = &quoted[end.min(quoted.len())..];
            rest = rest.find(';').map_or("", |i| &rest[i + 1..]);
        } else {
            let end = rest.find(';').unwrap_or(rest.len());
            value = rest[..end].trim().to_owned();
            rest = if end < rest.len() {
                &rest[end + 1..]
            } else {
                ""
            };
        }
        out.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_body_splits_into_its_fields_and_file() {
        let body =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"table_name\"\r\n\r\nincident\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"uploadFile\"; filename=\"a \\\"b\\\".txt\"\r\n\
Content-Type: text/plain\r\n\r\nline\r\n--not\r\n--XyZ--\r\n";
        let parts = parts(body, "XyZ").expect("parts");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "table_name");
        assert_eq!(parts[0].data, b"incident");
        assert_eq!(parts[1].file_name.as_deref(), Some("a \"b\".txt"));
        assert_eq!(parts[1].content_type.as_deref(), Some("text/plain"));
        assert_eq!(parts[1].data, b"line\r\n--not");
    }

    #[test]
    fn a_truncated_multipart_body_is_refused() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end";
        assert!(parts(body, "XyZ").is_err());
        assert!(parts(b"nothing", "XyZ").is_err());
    }

    #[test]
    fn the_boundary_is_read_from_the_content_type() {
        assert_eq!(
            boundary("multipart/form-data; boundary=\"abc\"").as_deref(),
            Some("abc")
        );
        assert_eq!(boundary("application/json; boundary=abc"), None);
    }
}
