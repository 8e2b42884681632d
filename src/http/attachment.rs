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
use super::multipart;
use super::table_api::parse_count;
use super::{base_url, PathParams};
use crate::app::AppState;
use crate::domain::attachments::{self, Attachment, NewFile};
use crate::error::{Error, Result};

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
    let max = state.settings.attachment_max_bytes;
    let form = multipart::read(request, max).await?;
    let parts = form.parts()?;
    let field = |name: &str| multipart::field(&parts, name).ok_or_else(|| Error::missing(name));
    let (table_name, table_sys_id) = (field("table_name")?, field("table_sys_id")?);
    // The file is the last part with a file name (the vendor reads the
    // final part).
    let file = multipart::file(&parts).ok_or_else(|| Error::missing("file"))?;
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
    Ok(file_response(&attachment, bytes, &base))
}

/// A file's bytes as a download: its content type, never sniffed, as an
/// attachment under its name, its metadata in `x-attachment-metadata`.
pub fn file_response(attachment: &Attachment, bytes: Vec<u8>, base: &str) -> Response {
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
    if let Ok(v) = HeaderValue::from_str(&ascii_json(&metadata(attachment, base))) {
        h.insert("x-attachment-metadata", v);
    }
    response
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_json_escapes_everything_past_ascii() {
        assert_eq!(
            ascii_json(&json!({"f": "é😀"})),
            "{\"f\":\"\\u00e9\\ud83d\\ude00\"}"
        );
    }
}
