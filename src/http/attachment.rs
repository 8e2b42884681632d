//! The Attachment API: `/api/now[/{api_version}]/attachment`. Files are
//! uploaded raw (`POST .../file?table_name=&table_sys_id=&file_name=`, the
//! body is the file and `Content-Type` its type) or as multipart form data
//! (`POST .../upload`), listed by an encoded query on `sys_attachment`, read
//! (metadata, bytes) and deleted. Who may do what follows the record a file
//! is attached to (`domain::attachments`).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};

use super::endpoint::Endpoint;
use super::extract::{read_body, Authenticated, QueryParams};
use super::table_api::parse_count;
use super::{base_url, PathParams};
use crate::app::AppState;
use crate::domain::attachments::{self, Attachment, NewFile};
use crate::error::{Error, Result};

/// Room for the multipart framing (boundaries, part headers, the form
/// fields) on top of the file itself.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// Most parts read from a multipart upload.
const MAX_PARTS: usize = 16;

/// The vendor's default page of attachment metadata.
const DEFAULT_LIMIT: i64 = 1000;

pub fn endpoints() -> Vec<Endpoint> {
    const READ: &str = "the read roles of the attached-to record's table (or admin)";
    const WRITE: &str = "the write roles of the attached-to record's table (or admin)";
    vec![
        Endpoint::get("/attachment", list)
            .summary("List attachment metadata (sysparm_query on sys_attachment, name-value pairs such as table_sys_id=..., sysparm_limit, sysparm_offset); only files on records the caller may read")
            .query(&["sysparm_query", "sysparm_limit", "sysparm_offset"])
            .checked_by_handler(READ),
        Endpoint::post("/attachment/file", upload_file)
            .summary("Attach a file to a record: the body is the file, Content-Type its type")
            .required_query(&["table_name", "table_sys_id", "file_name"])
            .query(&["encryption_context", "creation_time"])
            .success(201)
            .checked_by_handler(WRITE),
        Endpoint::post("/attachment/upload", upload_multipart)
            .summary("Attach a file to a record with a multipart/form-data body (table_name, table_sys_id, then the file part)")
            .success(201)
            .checked_by_handler(WRITE),
        Endpoint::get("/attachment/{sys_id}", get_one)
            .summary("Read an attachment's metadata")
            .checked_by_handler(READ),
        Endpoint::get("/attachment/{sys_id}/file", download)
            .summary("Download an attachment's bytes, with its content type")
            .checked_by_handler(READ),
        Endpoint::delete("/attachment/{sys_id}", delete)
            .summary("Delete an attachment")
            .success(204)
            .checked_by_handler(WRITE),
    ]
}

/// An attachment's metadata as the vendor shows it: every value a string.
pub fn metadata(a: &Attachment, base: &str) -> Json {
    json!({
        "sys_id": a.sys_id,
        "table_name": a.table_name,
        "table_sys_id": a.table_sys_id,
        "file_name": a.file_name,
        "content_type": a.content_type,
        "size_bytes": a.size_bytes.to_string(),
        "size_compressed": a.size_bytes.to_string(),
        "compressed": "false",
        "hash": a.hash,
        "download_link": format!("{base}/api/now/attachment/{}/file", a.sys_id),
        "image_height": "",
        "image_width": "",
        "average_image_color": "",
        "sys_tags": "",
        "sys_created_on": a.sys_created_on,
        "sys_created_by": a.sys_created_by,
        "sys_updated_on": a.sys_updated_on,
        "sys_updated_by": a.sys_updated_by,
        "sys_mod_count": a.sys_mod_count.to_string(),
    })
}

pub async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    QueryParams(q): QueryParams,
    headers: HeaderMap,
) -> Result<Response> {
    let limit =
        parse_count(&q, "sysparm_limit", DEFAULT_LIMIT, 1)?.min(state.settings.max_page_size);
    let offset = parse_count(&q, "sysparm_offset", 0, 0)?;
    // Any other parameter is a name-value pair (`table_sys_id=...`), as on
    // the Table API.
    let mut pairs: Vec<(&str, &str)> = q
        .iter()
        .filter(|(name, _)| !name.is_empty() && !name.starts_with("sysparm_"))
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    pairs.sort();
    let filter = attachments::ListFilter {
        query: q.get("sysparm_query").map(String::as_str).unwrap_or(""),
        pairs,
    };
    let (rows, total) = attachments::list(
        &state.db,
        &caller,
        &filter,
        limit,
        offset,
        state.settings.max_query_terms,
    )
    .await?;
    let base = base_url(&headers, &state.settings);
    let result: Vec<Json> = rows.iter().map(|a| metadata(a, &base)).collect();
    let mut response = axum::Json(json!({ "result": result })).into_response();
    response
        .headers_mut()
        .insert("x-total-count", HeaderValue::from(total));
    Ok(response)
}

pub async fn get_one(
    State(state): State<AppState>,
    params: PathParams,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
) -> Result<Response> {
    let attachment = attachments::get(&state.db, &caller, params.get("sys_id")?).await?;
    let base = base_url(&headers, &state.settings);
    Ok(axum::Json(json!({ "result": metadata(&attachment, &base) })).into_response())
}

/// `201` with the new file's metadata and its address in `Location`.
fn created(attachment: &Attachment, base: &str) -> Response {
    let mut response = (
        StatusCode::CREATED,
        axum::Json(json!({ "result": metadata(attachment, base) })),
    )
        .into_response();
    let location = format!("{base}/api/now/attachment/{}", attachment.sys_id);
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

pub async fn upload_file(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    QueryParams(q): QueryParams,
    request: Request,
) -> Result<Response> {
    let required = |name: &str| {
        q.get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| Error::missing(name))
    };
    let (table_name, table_sys_id, file_name) = (
        required("table_name")?,
        required("table_sys_id")?,
        required("file_name")?,
    );
    let base = base_url(request.headers(), &state.settings);
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| {
            v.to_str()
                .map(str::to_owned)
                .map_err(|_| Error::invalid("Content-Type", "not a media type such as image/png"))
        })
        .transpose()?;
    let max = state.settings.attachment_max_bytes;
    let bytes = read_body(request, max).await?;
    let attachment = attachments::attach(
        &state.db,
        &caller,
        NewFile {
            table_name,
            table_sys_id,
            file_name,
            content_type: content_type.as_deref(),
            bytes: &bytes,
        },
        max,
    )
    .await?;
    Ok(created(&attachment, &base))
}

pub async fn upload_multipart(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    request: Request,
) -> Result<Response> {
    let base = base_url(request.headers(), &state.settings);
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(multipart_boundary)
        .ok_or_else(|| {
            Error::malformed("The request body must be multipart/form-data with a boundary")
        })?;
    let max = state.settings.attachment_max_bytes;
    let body = read_body(request, max.saturating_add(MULTIPART_OVERHEAD)).await?;
    let parts = multipart_parts(&body, &boundary)?;
    let field = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name && p.file_name.is_none())
            .and_then(|p| std::str::from_utf8(p.data).ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::missing(name))
    };
    let (table_name, table_sys_id) = (field("table_name")?, field("table_sys_id")?);
    // The file is the last part with a file name (the vendor reads the
    // final part).
    let file = parts
        .iter()
        .rev()
        .find(|p| p.file_name.is_some())
        .ok_or_else(|| Error::missing("file"))?;
    let attachment = attachments::attach(
        &state.db,
        &caller,
        NewFile {
            table_name,
            table_sys_id,
            file_name: file.file_name.as_deref().unwrap_or(""),
            content_type: file.content_type.as_deref(),
            bytes: file.data,
        },
        max,
    )
    .await?;
    Ok(created(&attachment, &base))
}

pub async fn download(
    State(state): State<AppState>,
    params: PathParams,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
) -> Result<Response> {
    let (attachment, bytes) =
        attachments::content(&state.db, &caller, params.get("sys_id")?).await?;
    let base = base_url(&headers, &state.settings);
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    let content_type = HeaderValue::from_str(&attachment.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, content_type);
    // A stored file is never rendered as a page of this origin.
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let disposition = format!(
        "attachment; filename*=UTF-8''{}",
        percent_encoding::utf8_percent_encode(
            &attachment.file_name,
            percent_encoding::NON_ALPHANUMERIC
        )
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&ascii_json(&metadata(&attachment, &base))) {
        h.insert("x-attachment-metadata", v);
    }
    Ok(response)
}

pub async fn delete(
    State(state): State<AppState>,
    params: PathParams,
    Authenticated(caller): Authenticated,
) -> Result<Response> {
    attachments::delete(&state.db, &caller, params.get("sys_id")?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// JSON with every character past ASCII escaped, fit for a header value.
fn ascii_json(value: &Json) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// The boundary of a `multipart/form-data` content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
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
struct Part<'a> {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    data: &'a [u8],
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
fn multipart_parts<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>> {
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
        let parts = multipart_parts(body, "XyZ").expect("parts");
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
        assert!(multipart_parts(body, "XyZ").is_err());
        assert!(multipart_parts(b"nothing", "XyZ").is_err());
    }

    #[test]
    fn the_boundary_is_read_from_the_content_type() {
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=\"abc\"").as_deref(),
            Some("abc")
        );
        assert_eq!(multipart_boundary("application/json; boundary=abc"), None);
    }

    #[test]
    fn header_json_escapes_everything_past_ascii() {
        assert_eq!(
            ascii_json(&json!({"f": "é😀"})),
            "{\"f\":\"\\u00e9\\ud83d\\ude00\"}"
        );
    }
}
