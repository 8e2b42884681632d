#!/usr/bin/env python3
"""Seeds a migrated Tollgate SQLite database with the DPR benchmark data set:

- bundle  bbbb0000000000000000000000000001 of 1,000 In Progress releases, each with
  10 related tasks, 5 enhancements and 3 policy results;
- release cccc0000000000000000000000000001 shipping 20 products (its own and 19
  child releases), whose current phase is gated by 10 policies, all evaluated.

Usage: seed_dpr.py PATH_TO_SQLITE_FILE
"""
import tollgate_sqlite
import sys
import uuid

NOW = "2026-11-22 12:00:00"
REGO = "package tollgate.policy\n\ndefault compliant := false\n\ncompliant if count(violations) == 0\n\nviolations contains msg if {\n\tsome e in input.enhancements\n\te.state != \"closed\"\n\tmsg := sprintf(\"%s is %s\", [e.number, e.state])\n}\n"


def sid():
    return uuid.uuid4().hex


def insert(db, table, values, sys_id=None):
    sys_id = sys_id or sid()
    row = {"sys_id": sys_id, "sys_created_on": NOW, "sys_created_by": "bench", "sys_updated_on": NOW,
           "sys_updated_by": "bench", "sys_mod_count": 0}
    row.update(values)
    cols = ", ".join(f'"{c}"' for c in row)
    db.execute(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))
    return sys_id


def main(path):
    db = tollgate_sqlite.connect(path)
    admin = db.execute("SELECT sys_id FROM sys_user WHERE user_name = 'admin'").fetchone()[0]
    policies = [insert(db, "sn_pace_policy", {"name": f"Bench policy {i}", "active": 1, "rego": REGO}) for i in range(10)]

    def template(name, n_policies):
        t = insert(db, "sn_dpr_model_release_template", {"name": name, "orientation": "timeline", "active": 1})
        phase = insert(db, "sn_dpr_model_template_phase", {"template": t, "name": "Gate", "order": 100, "duration_days": 10})
        for p in policies[:n_policies]:
            insert(db, "sn_dpr_model_template_phase_policy", {"template_phase": phase, "policy": p})
        return t, phase

    def product(name):
        return insert(db, "cmdb_model", {"sys_class_name": "cmdb_application_product_model", "name": name})

    def release(name, prod, tmpl, tphase, primary=None, sys_id=None):
        r = insert(db, "sn_dpr_model_release", {
            "number": f"REL{uuid.uuid4().int % 10**7:07d}", "name": name, "state": "in_progress", "product": prod,
            "owner": admin, "template": tmpl, "process_type": "timeline", "planned_start": NOW,
            "planned_end": "2027-06-30 23:59:59", "primary_release": primary, "validates_version": 0}, sys_id)
        ph = insert(db, "sn_dpr_model_release_phase", {"release": r, "template_phase": tphase, "name": "Gate",
                                                       "order": 100, "state": "in_progress", "planned_start": NOW,
                                                       "planned_end": "2027-06-30 23:59:59", "actual_start": NOW})
        db.execute("UPDATE sn_dpr_model_release SET current_phase = ? WHERE sys_id = ?", (ph, r))
        return r, ph

    t3, p3 = template("Bench: 3 policies", 3)
    bundle = insert(db, "sn_dpr_model_release_bundle", {"name": "Bench bundle", "owner": admin},
                    "bbbb0000000000000000000000000001")
    shared_product = product("Bench product")
    for i in range(1000):
        r, ph = release(f"Bench release {i}", shared_product, t3, p3)
        insert(db, "sn_dpr_model_release_bundle_member", {"bundle": bundle, "release": r})
        for k in range(10):
            task = insert(db, "task", {"sys_class_name": "change_request", "number": f"CHG{i:05d}{k:02d}",
                                       "short_description": "Deploy", "state": "open", "active": 1,
                                       "approval": "approved" if k % 2 else "requested"})
            insert(db, "sn_dpr_model_release_related_task", {"release": r, "task": task})
        for k in range(5):
            insert(db, "sn_dpr_model_product_enhancement", {"number": f"ENH{i:05d}{k:02d}", "name": "E",
                                                             "priority": "medium", "state": "closed" if k % 2 else "open",
                                                             "product": shared_product, "release": r})
        for p in policies[:3]:
            insert(db, "sn_dpr_model_policy_execution", {"release": r, "release_phase": ph, "product": shared_product,
                                                          "policy": p, "status": "compliant", "reason": "All checks passed",
                                                          "output": "", "last_run_at": NOW})

    t10, p10 = template("Bench: 10 policies", 10)
    main_product = product("Bench suite 0")
    primary, ph = release("Bench suite release", main_product, t10, p10, sys_id="cccc0000000000000000000000000001")
    products = [main_product]
    for i in range(1, 20):
        prod = product(f"Bench suite {i}")
        products.append(prod)
        release(f"Bench suite release - {i}", prod, t10, p10, primary=primary)
    for prod in products:
        for p in policies:
            insert(db, "sn_dpr_model_policy_execution", {"release": primary, "release_phase": ph, "product": prod,
                                                          "policy": p, "status": "compliant", "reason": "All checks passed",
                                                          "output": "0 of 0 enhancements closed", "last_run_at": NOW})
    db.commit()


if __name__ == "__main__":
    main(sys.argv[1])
