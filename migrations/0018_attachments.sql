-- Attachments (the Attachment API, /api/now/attachment): one row per file in
-- sys_attachment, its bytes in sys_attachment_doc as base64 text chunks in
-- order (the same TEXT type on both databases, so every replica reads them
-- from the shared database and no dialect section is needed). A parent is a
-- registered table's record (table_name, table_sys_id) or a ServiceDesk-style
-- release (table_name sdp_release, table_sys_id its number).
CREATE TABLE sys_attachment (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    table_name TEXT NOT NULL,
    table_sys_id TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    hash TEXT NOT NULL,
    chunk_count BIGINT NOT NULL
);
CREATE INDEX sys_attachment_parent ON sys_attachment (table_sys_id, table_name);

CREATE TABLE sys_attachment_doc (
    attachment TEXT NOT NULL REFERENCES sys_attachment (sys_id) ON DELETE CASCADE,
    chunk BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (attachment, chunk)
);
