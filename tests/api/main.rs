//! One integration-test binary. Every test gets a database of its own:
//! a fresh SQLite file, or a fresh schema on the PostgreSQL server named by
//! `TOLLGATE_TEST_DATABASE_URL`, dropped when the test ends.

mod helpers;

mod access;
mod api_docs;
mod attachments;
mod backup;
mod batch;
mod bundles;
mod cdm;
mod cdm_examples;
mod cli;
mod client_params;
mod console;
mod deploy;
mod docs;
mod document;
mod dpr;
mod envelopes;
mod examples;
mod identity;
mod jobs;
mod lifecycle;
mod locks;
mod me;
mod phases;
mod policies;
mod policy_trial;
mod registry;
mod releases;
mod schema;
mod scope;
mod sdp_shapes;
mod server;
mod servicedesk;
mod table_api;
mod text_search;
mod trust;
mod update_sets;
mod write_integrity;
