//! The table registry: every ServiceNow-style table, its columns, types,
//! references, choices and access roles. The Table API, reference links and
//! validation are driven by it, so a table appears everywhere by being
//! registered once (in [`tables`]).

pub mod hooks;
mod tables;

pub use tables::TABLES;

/// The kind of a column, which decides how it is stored, validated and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    String,
    Integer,
    Boolean,
    Decimal,
    /// UTC `YYYY-MM-DD hh:mm:ss`.
    DateTime,
    /// `YYYY-MM-DD`.
    Date,
    /// A date-time in a schedule's own time zone, `YYYY-MM-DD hh:mm:ss`.
    LocalDateTime,
    /// The sys_id of a record in the named table.
    Reference(&'static str),
    /// Comma-separated sys_ids of records in the named table.
    List(&'static str),
    /// One of the listed `(value, label)` pairs.
    Choice(&'static [(&'static str, &'static str)]),
    /// An IANA time zone name such as `Europe/Paris`.
    TimeZone,
    /// Written as clear text, stored as an Argon2id hash, never shown.
    Password,
    /// Written as clear text, stored encrypted with the server's key (it can
    /// be read back by the server, unlike a password), shown as `*******`.
    Secret,
}

/// How a set [`ColumnType::Secret`] is shown; a write that echoes it back
/// leaves the secret as it was.
pub const SECRET_MASK: &str = "*******";

impl ColumnType {
    /// Never filtered on or shown in clear through the APIs.
    pub fn is_secret(self) -> bool {
        matches!(self, ColumnType::Password | ColumnType::Secret)
    }
}

impl ColumnType {
    /// Stored in a BIGINT, BOOLEAN or DOUBLE PRECISION column (else TEXT).
    pub fn sql_kind(self) -> SqlKind {
        match self {
            ColumnType::Integer => SqlKind::Int,
            ColumnType::Boolean => SqlKind::Bool,
            ColumnType::Decimal => SqlKind::Float,
            _ => SqlKind::Text,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::Integer => "integer",
            ColumnType::Boolean => "boolean",
            ColumnType::Decimal => "decimal",
            ColumnType::DateTime => "glide_date_time",
            ColumnType::Date => "glide_date",
            ColumnType::LocalDateTime => "schedule_date_time",
            ColumnType::Reference(_) => "reference",
            ColumnType::List(_) => "glide_list",
            ColumnType::Choice(_) => "choice",
            ColumnType::TimeZone => "timezone",
            ColumnType::Password => "password",
            ColumnType::Secret => "password2",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlKind {
    Text,
    Int,
    Bool,
    Float,
}

#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub label: &'static str,
    pub ty: ColumnType,
    /// Must have a value on insert (and may not be emptied).
    pub mandatory: bool,
    /// Set only by the server's own rules, never through the Table API.
    pub read_only: bool,
    /// Applied on insert when the caller gives no value.
    pub default: Option<&'static str>,
    /// For references: deleting the referenced record deletes this one too
    /// (otherwise the delete is refused while a reference exists).
    pub cascade: bool,
    /// Has a trigram index (migration 16: FTS5 on SQLite, pg_trgm on
    /// PostgreSQL), so `LIKE`/`STARTSWITH`/`ENDSWITH` on it need no scan.
    pub text_indexed: bool,
}

impl Column {
    pub const fn new(name: &'static str, label: &'static str, ty: ColumnType) -> Column {
        Column {
            name,
            label,
            ty,
            mandatory: false,
            read_only: false,
            default: None,
            cascade: false,
            text_indexed: false,
        }
    }
    pub const fn text_indexed(mut self) -> Column {
        self.text_indexed = true;
        self
    }
    pub const fn cascade(mut self) -> Column {
        self.cascade = true;
        self
    }
    pub const fn mandatory(mut self) -> Column {
        self.mandatory = true;
        self
    }
    pub const fn read_only(mut self) -> Column {
        self.read_only = true;
        self
    }
    pub const fn default(mut self, value: &'static str) -> Column {
        self.default = Some(value);
        self
    }
}

/// The standard system fields every registered table carries.
pub static SYSTEM_COLUMNS: &[Column] = &[
    Column::new("sys_id", "Sys ID", ColumnType::String).read_only(),
    Column::new("sys_created_on", "Created", ColumnType::DateTime).read_only(),
    Column::new("sys_created_by", "Created by", ColumnType::String).read_only(),
    Column::new("sys_updated_on", "Updated", ColumnType::DateTime).read_only(),
    Column::new("sys_updated_by", "Updated by", ColumnType::String).read_only(),
    Column::new("sys_mod_count", "Updates", ColumnType::Integer).read_only(),
];

#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub label: &'static str,
    /// The column shown as a reference's display value.
    pub display_column: &'static str,
    pub columns: &'static [Column],
    /// Any one of these may read (admin always may).
    pub read_roles: &'static [&'static str],
    /// Any one of these may insert, update and delete (admin always may).
    pub write_roles: &'static [&'static str],
    /// The table this one extends. A hierarchy is stored in its root's
    /// table, each row naming its concrete table in `sys_class_name`; a table
    /// answers for its own rows and those of the tables extending it.
    pub extends: Option<&'static str>,
    /// Records get a human number such as `REL0001001` in their `number`
    /// column, from a counter that is safe across replicas.
    pub number_prefix: Option<&'static str>,
    /// A read-only view of other data (no one writes it through the API).
    pub view: bool,
    /// Governance configuration (templates, policies, calendars, schedules,
    /// properties): while a user has a current update set, their writes to
    /// it are captured there, so update sets can move it between instances.
    /// Records such as releases and changesets are data and never captured.
    pub configuration: bool,
}

impl Table {
    /// System fields first, then the columns of each ancestor from the root
    /// down, then the table's own.
    pub fn all_columns(&self) -> Vec<&'static Column> {
        let mut lineage = vec![self.columns];
        let mut parent = self.extends.and_then(table);
        while let Some(t) = parent {
            lineage.push(t.columns);
            parent = t.extends.and_then(table);
        }
        let mut columns: Vec<&'static Column> = SYSTEM_COLUMNS.iter().collect();
        for own in lineage.into_iter().rev() {
            columns.extend(own.iter());
        }
        columns
    }

    pub fn column(&self, name: &str) -> Option<&'static Column> {
        if let Some(c) = SYSTEM_COLUMNS
            .iter()
            .chain(self.columns.iter())
            .find(|c| c.name == name)
        {
            return Some(c);
        }
        self.extends.and_then(table).and_then(|p| p.column(name))
    }

    /// The table of the hierarchy's root, where the rows are stored.
    pub fn storage(&self) -> &'static str {
        let mut current = match table(self.name) {
            Some(t) => t,
            None => return "",
        };
        while let Some(parent) = current.extends.and_then(table) {
            current = parent;
        }
        current.name
    }

    /// Whether the table is part of a hierarchy (its rows carry `sys_class_name`).
    pub fn in_hierarchy(&self) -> bool {
        self.extends.is_some() || TABLES.iter().any(|t| t.extends == Some(self.name))
    }

    /// This table and every table that extends it, directly or not.
    pub fn classes(&self) -> Vec<&'static str> {
        let mut out = vec![self.name];
        let mut i = 0;
        while i < out.len() {
            let current = out[i];
            out.extend(
                TABLES
                    .iter()
                    .filter(|t| t.extends == Some(current))
                    .map(|t| t.name),
            );
            i += 1;
        }
        out
    }

    /// Whether `other` is this table or one of its ancestors.
    pub fn is_a(&self, other: &str) -> bool {
        let mut current = Some(self);
        while let Some(t) = current {
            if t.name == other {
                return true;
            }
            current = t.extends.and_then(table);
        }
        false
    }

    /// Whether only the server writes this table: views, and the tables
    /// listed in [`SERVER_WRITTEN`]. The Table API refuses every write to
    /// them, an admin's included (reads stay allowed).
    pub fn server_written(&self) -> bool {
        self.writer().is_some()
    }

    /// What writes a server-written table, for the Table API's refusal to
    /// name the way to change its records; `None` for a table clients write.
    pub fn writer(&self) -> Option<&'static str> {
        SERVER_WRITTEN
            .iter()
            .find(|(name, _)| *name == self.name)
            .map(|(_, writer)| *writer)
            .or(self.view.then_some("the server (it is a read-only view)"))
    }

    /// SQL restricting rows of the storage table to this table's classes
    /// (empty outside hierarchies). Class names are registry constants.
    pub fn class_filter(&self) -> String {
        self.class_filter_of("")
    }

    /// [`Table::class_filter`] for the storage table aliased `alias` in a
    /// query that joins others (empty: unqualified).
    pub fn class_filter_of(&self, alias: &str) -> String {
        if self.extends.is_none() {
            // Outside a hierarchy, or its root, which answers for every row.
            return String::new();
        }
        let names: Vec<String> = self.classes().iter().map(|c| format!("'{c}'")).collect();
        let qualifier = if alias.is_empty() {
            String::new()
        } else {
            format!("{alias}.")
        };
        format!(" AND {qualifier}sys_class_name IN ({})", names.join(", "))
    }
}

/// Tables written by the server only, each with what writes it (the Table
/// API's refusal names it). Their rows carry invariants only the owning
/// rules keep, and many have NOT NULL columns no client may set:
///
/// - A retrieved update set and its updates come from retrieval (what a
///   remote instance holds), captured updates and versions from capture
///   (what a user changed here); a commit applies them and a back-out
///   restores from them. Rows crafted through the Table API would let a
///   user apply any payload to any table. Their preview problems stay
///   writable (a problem is resolved by setting its status).
/// - CDM nodes are versioned by changesets, and deployables, snapshots,
///   requests and shared components follow from uploads and commits; a row
///   written beside those rules would break the tree, a snapshot's content
///   or a queued request.
/// - Policy executions are the results of the release's policy runs.
pub const SERVER_WRITTEN: &[(&str, &str)] = &[
    (
        "sys_remote_update_set",
        "update-set retrieval (POST /api/sn_cicd/update_set/retrieve)",
    ),
    (
        "sys_update_xml",
        "update-set capture and retrieval (/api/sn_cicd/update_set)",
    ),
    (
        "sys_update_version",
        "update-set capture, commit and back-out (/api/sn_cicd/update_set)",
    ),
    (
        "sn_cdm_node",
        "the CDM editor and upload APIs, inside a changeset (/api/sn_cdm/editor/nodes, \
         /api/sn_cdm/applications/uploads)",
    ),
    (
        "sn_cdm_changeset",
        "the CDM changesets API (/api/sn_cdm/changesets)",
    ),
    (
        "sn_cdm_deployable",
        "the CDM deployables API (/api/sn_cdm/applications/deployables)",
    ),
    (
        "sn_cdm_snapshot",
        "changeset commits and the CDM snapshots API (/api/sn_cdm/snapshots)",
    ),
    (
        "sn_cdm_request_queue",
        "the CDM upload, commit and export endpoints (/api/sn_cdm)",
    ),
    (
        "sn_cdm_shared_component",
        "commits of a shared library's changesets (/api/sn_cdm/changesets)",
    ),
    (
        "sn_dpr_model_policy_execution",
        "the release's policy runs (/api/sn_dpr/digital_product_release)",
    ),
    (
        "sys_attachment",
        "the Attachment API (/api/now/attachment), which checks the roles of the record a file \
         is attached to",
    ),
];

/// Looks a table up by name.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// Quotes an identifier for SQL (some column names, such as `user`, are
/// reserved words in PostgreSQL). Registry names are plain ASCII.
pub fn quote(ident: &str) -> String {
    format!("\"{ident}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_written_table_is_registered_once() {
        for (i, (name, _)) in SERVER_WRITTEN.iter().enumerate() {
            assert!(table(name).is_some(), "{name}");
            assert!(
                SERVER_WRITTEN[..i].iter().all(|(other, _)| other != name),
                "{name} listed twice"
            );
        }
    }

    #[test]
    fn every_extended_table_is_registered() {
        for t in TABLES {
            if let Some(parent) = t.extends {
                assert!(table(parent).is_some(), "{} extends {parent}", t.name);
            }
        }
    }

    #[test]
    fn every_reference_names_a_registered_table_and_display_column_exists() {
        for t in TABLES {
            assert!(t.column(t.display_column).is_some(), "{}", t.name);
            for c in t.columns {
                if let ColumnType::Reference(target) | ColumnType::List(target) = c.ty {
                    assert!(table(target).is_some(), "{}.{} -> {target}", t.name, c.name);
                }
            }
        }
    }
}
