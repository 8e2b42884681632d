"""Seeds a complete update set of N updates (new system properties) into a
Tollgate SQLite database, as capture would have recorded them: each update
carries the property's full payload. Usage: seed_update_set.py DB N SET_ID"""
import json, sys, uuid

import tollgate_sqlite

db, n, set_id = sys.argv[1], int(sys.argv[2]), sys.argv[3]
now = "2026-11-23 00:00:00"
con = tollgate_sqlite.connect(db)
scope = con.execute("SELECT sys_id FROM sys_scope WHERE scope = 'sn_test'").fetchone()[0]
con.execute(
    "INSERT INTO sys_update_set (sys_id, sys_created_on, sys_created_by, sys_updated_on, sys_updated_by, "
    "sys_mod_count, name, description, state, application, backed_out) VALUES (?, ?, 'bench', ?, 'bench', 0, ?, ?, 'complete', ?, 0)",
    (set_id, now, now, f"Bench {n} properties", "benchmark update set", scope),
)
props, updates = [], []
for i in range(n):
    pid = uuid.uuid4().hex
    payload = {
        "sys_id": pid, "sys_created_on": now, "sys_created_by": "bench", "sys_updated_on": now,
        "sys_updated_by": "bench", "sys_mod_count": "0", "name": f"bench.property.{i:05d}",
        "value": f"value {i}", "description": "seeded for the update-set benchmark", "type": "string",
    }
    props.append((pid, now, now, payload["name"], payload["value"], payload["description"]))
    updates.append((
        uuid.uuid4().hex, now, now, set_id, f"sys_properties_{pid}", "sys_properties", pid,
        payload["name"], "System Property", "INSERT_OR_UPDATE", json.dumps(payload), scope, i + 1,
    ))
con.executemany(
    "INSERT INTO sys_properties (sys_id, sys_created_on, sys_created_by, sys_updated_on, sys_updated_by, "
    "sys_mod_count, name, value, description, type) VALUES (?, ?, 'bench', ?, 'bench', 0, ?, ?, ?, 'string')",
    props,
)
con.executemany(
    "INSERT INTO sys_update_xml (sys_id, sys_created_on, sys_created_by, sys_updated_on, sys_updated_by, "
    "sys_mod_count, update_set, name, \"table\", record_sys_id, target_name, type, action, payload, application, sequence) "
    "VALUES (?, ?, 'bench', ?, 'bench', 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    updates,
)
con.commit()
print(f"seeded update set {set_id} with {n} updates")
