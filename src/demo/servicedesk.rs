//! Demo users of the ServiceDesk-style family, named by the v3 examples.

use crate::error::Result;
use crate::storage::{Tx, Value};

pub(super) async fn load(tx: &mut Tx) -> Result<usize> {
    let mut added = 0;
    for (id, name, email, phone) in [
        (3, "Guest", None, Some("8888")),
        (
            4,
            "administrator",
            Some("admin@example.com"),
            Some("1234455"),
        ),
        (
            7,
            "Heather Graham",
            Some("heather.graham@example.com"),
            Some("925-852-2602"),
        ),
    ] {
        let exists = tx
            .fetch_optional("SELECT id FROM sdp_user WHERE id = $1", &[Value::Int(id)])
            .await?;
        if exists.is_none() {
            tx.execute(
                "INSERT INTO sdp_user (id, name, email_id, phone, is_vipuser) VALUES ($1, $2, $3, $4, $5)",
                &[Value::Int(id), Value::from(name), Value::from(email), Value::from(phone), Value::Bool(false)],
            )
            .await?;
            added += 1;
        }
    }
    Ok(added)
}
