//! Domain rules, one module per family, plus the rules every table shares.

pub mod attachments;
pub mod boolean;
pub mod cdm;
pub mod dpr;
pub mod encoded_query;
pub mod policy_trial;
pub mod records;
pub mod sdp;
pub mod update_sets;

#[cfg(test)]
mod layering {
    /// The domain is reachable without HTTP: no file below `src/domain`
    /// names the HTTP layer (a base URL or a mask it needs is passed in or
    /// lives in `registry`).
    #[test]
    fn the_domain_imports_nothing_from_http() {
        fn walk(dir: &std::path::Path, offenders: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("read src/domain") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    walk(&path, offenders);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("read source");
                    for (n, line) in text.lines().enumerate() {
                        // The needles are split so this line does not match itself.
                        if line.contains(concat!("crate::", "http"))
                            || line.contains(concat!("super::super::", "http"))
                        {
                            offenders.push(format!(
                                "{}:{}: {}",
                                path.display(),
                                n + 1,
                                line.trim()
                            ));
                        }
                    }
                }
            }
        }
        let mut offenders = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain"),
            &mut offenders,
        );
        assert!(offenders.is_empty(), "{}", offenders.join("\n"));
    }
}
