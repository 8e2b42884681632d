#!/usr/bin/env python3
"""Seeds a migrated Tollgate SQLite database with 100,000 ServiceDesk-style
releases (one in ten titled "... MSSQL ...", statuses spread over the
Submission and Planning statuses). Usage: seed_sdp.py PATH_TO_SQLITE_FILE"""
import random
import tollgate_sqlite
import sys

WORDS = ["Exchange", "Oracle", "SAP", "Portal", "Network", "Firewall", "Payroll", "CRM", "Mobile", "Backup"]


def main(path, count=100_000):
    random.seed(7)
    db = tollgate_sqlite.connect(path)
    rows = []
    for i in range(1, count + 1):
        word = "MSSQL" if i % 10 == 0 else random.choice(WORDS)
        stage, status = random.choice([(1, 1), (1, 2), (1, 3), (2, 6), (2, 7), (2, 8)])
        rows.append((1000 + i, f"{word} release {i}", f"{word} upgrade", stage, status,
                     1592820350370, 1592820360370 + i, 1592820000000 + i))
    db.executemany(
        "INSERT INTO sdp_release (id, title, description, template_id, stage_id, status_id, priority_id, "
        "scheduled_start, scheduled_end, created_time, created_by, emergency) "
        "VALUES (?, ?, ?, 1, ?, ?, 4, ?, ?, ?, 'bench', 0)", rows)
    db.execute("UPDATE tollgate_counter SET value = ? WHERE name = 'sdp_release'", (1000 + count,))
    db.commit()


if __name__ == "__main__":
    main(sys.argv[1])
