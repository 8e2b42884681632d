//! Configuration Data Management endpoints: `/api/sn_cdm[/{api_version}]/...`.
//! Parameters come in the query string (uploads carry their content in the
//! body); answers are `{"result": ...}`; every refusal is a 400 in the
//! ServiceNow envelope with the vendor's `Error: ...` messages.
//!
//! Handlers read the query into typed arguments, authorise, call one
//! command or query of `domain::cdm`, and shape the answer with [`view`].

pub mod applications;
pub mod changesets;
pub mod editor;
pub mod snapshots;
pub mod view;

use std::collections::HashMap;

use crate::domain::cdm::refusal;
use crate::error::Result;
use crate::http::extract::RoleSet;
use crate::identity::roles;

/// Readers: viewers, editors, admins.
pub struct CdmReaders;
impl RoleSet for CdmReaders {
    const ANY_OF: &'static [&'static str] = &[
        roles::CDM_VIEWER,
        roles::CDM_EDITOR,
        roles::CDM_ADMIN,
        roles::CDM_SECRETS,
    ];
}

/// Those who change configuration data.
pub struct CdmEditors;
impl RoleSet for CdmEditors {
    const ANY_OF: &'static [&'static str] =
        &[roles::CDM_EDITOR, roles::CDM_ADMIN, roles::CDM_SECRETS];
}

/// Those who shape applications (deployables, policy mappings).
pub struct CdmAdmins;
impl RoleSet for CdmAdmins {
    const ANY_OF: &'static [&'static str] = &[roles::CDM_ADMIN];
}

/// The query string, read as the CDM pages name parameters.
pub struct Query<'a>(pub &'a HashMap<String, String>);

impl Query<'_> {
    pub fn opt(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<String> {
        self.opt(name)
            .ok_or_else(|| refusal(format!("Missing required param '{name}'")))
    }

    pub fn flag(&self, name: &str, default: bool) -> Result<bool> {
        crate::domain::cdm::flag(name, self.0.get(name), default)
    }
}

impl Query<'_> {
    /// `returnFields`, which limits the keys of the answer's records.
    pub fn return_fields(&self) -> Option<String> {
        self.opt("returnFields")
    }
}
