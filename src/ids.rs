//! Record identifiers: `sys_id` is 32 lower-case hex characters, time-ordered
//! (a UUIDv7 without dashes) so that inserts stay index-friendly.

pub fn new_sys_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

pub fn is_sys_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A random secret of `bytes` bytes, hex-encoded (API keys, tokens, passwords).
pub fn random_secret(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sys_ids_are_32_lower_hex_and_ordered() {
        let a = new_sys_id();
        let b = new_sys_id();
        assert!(is_sys_id(&a), "{a}");
        assert!(a < b, "time-ordered: {a} then {b}");
        assert!(!is_sys_id("ABCDEF0123456789abcdef0123456789"));
        assert!(!is_sys_id("abc"));
    }
}
