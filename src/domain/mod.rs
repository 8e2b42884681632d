//! Domain rules, one module per family, plus the rules every table shares.

pub mod cdm;
pub mod dpr;
pub mod encoded_query;
pub mod records;
pub mod sdp;
pub mod update_sets;
