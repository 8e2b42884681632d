#!/usr/bin/env python3
"""Seeds a migrated Tollgate database (with the demo data) for the search
benchmarks: N ServiceDesk-style releases and N users whose titles and names
are drawn from a vocabulary of 2,000 made-up product and person names, so a
search for a piece of one matches a small share of the records, as people's
searches do. SQLite is written directly (the triggers keep the text indexes);
PostgreSQL through psql's COPY (the indexes follow).

Usage: seed_search.py sqlite:///PATH N
       seed_search.py postgres://USER@HOST/DB N
Prints the vocabulary's file name (one word a line) for the load generator."""
import io
import random
import subprocess
import sys
import time

SYLLABLES = ["ka", "lo", "mi", "ra", "ven", "tor", "sa", "qui", "dex", "pho", "lin", "zar", "bel",
             "cor", "nu", "tri", "vos", "gan", "mel", "os", "pa", "rik", "sel", "tu", "xen", "yo"]
NOW = "2026-11-22 12:00:00"


def vocabulary(rng, size=2000):
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize())
    return sorted(words)


def releases(rng, words, n):
    for i in range(1, n + 1):
        stage, status = rng.choice([(1, 1), (1, 2), (1, 3), (2, 6), (2, 7), (2, 8)])
        title = f"{rng.choice(words)} {rng.choice(words)} release {i}"
        yield (1000 + i, title, f"{rng.choice(words)} upgrade", stage, status, 1592820350370,
               1592820360370 + i, 1592820000000 + i)


def users(rng, words, n):
    for i in range(1, n + 1):
        first, last = rng.choice(words), rng.choice(words)
        yield (f"bbbb{i:028x}", f"{first.lower()}.{last.lower()}{i}", f"{first} {last}",
               f"{first.lower()}.{last.lower()}{i}@example.com")


def seed_sqlite(path, rng, words, n):
    import tollgate_sqlite
    db = tollgate_sqlite.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    # A row at a time through the text-index triggers costs about 50 us; the
    # triggers are set aside while the rows go in, the indexes (trigram and
    # word pieces) filled in one statement each (as migrations 16 and 23 fill
    # them), and the triggers restored.
    triggers = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
        "AND (name LIKE 'sdp\\_release\\_\\_text%' ESCAPE '\\' OR name LIKE 'sys\\_user\\_\\_text%' ESCAPE '\\')"
    ).fetchall()
    assert len(triggers) == 9, triggers
    for name, _ in triggers:
        db.execute(f"DROP TRIGGER {name}")
    first_release = db.execute("SELECT COALESCE(MAX(id), 0) FROM sdp_release").fetchone()[0]
    db.executemany(
        "INSERT INTO sdp_release (id, title, description, template_id, stage_id, status_id, priority_id, "
        "scheduled_start, scheduled_end, created_time, created_by, emergency) "
        "VALUES (?, ?, ?, 1, ?, ?, 4, ?, ?, ?, 'bench', 0)", releases(rng, words, n))
    for column in ("title", "description"):
        db.execute(f"INSERT INTO sdp_release__text_{column} (rowid, {column}) "
                   f"SELECT id, {column} FROM sdp_release WHERE id > ? AND {column} <> ''", (first_release,))
        db.execute(f"INSERT INTO sdp_release__words_{column} (rowid, pieces) "
                   f"SELECT id, tollgate_word_pieces({column}) FROM sdp_release WHERE id > ? AND {column} <> ''",
                   (first_release,))
    db.execute("UPDATE tollgate_counter SET value = ? WHERE name = 'sdp_release'", (1000 + n,))
    db.executemany(
        "INSERT INTO sys_user (sys_id, sys_created_on, sys_created_by, sys_updated_on, sys_updated_by, "
        "sys_mod_count, user_name, name, email, active, locked_out) "
        f"VALUES (?, '{NOW}', 'bench', '{NOW}', 'bench', 0, ?, ?, ?, TRUE, FALSE)", users(rng, words, n))
    first_key = db.execute("SELECT COALESCE(MAX(n), 0) FROM sys_user__text_key").fetchone()[0]
    db.execute("INSERT INTO sys_user__text_key (sys_id) SELECT sys_id FROM sys_user "
               "WHERE sys_id NOT IN (SELECT sys_id FROM sys_user__text_key)")
    for column in ("user_name", "name", "email"):
        db.execute(f"INSERT INTO sys_user__text_{column} (rowid, {column}) "
                   f"SELECT k.n, t.{column} FROM sys_user__text_key k "
                   f"JOIN sys_user t ON t.sys_id = k.sys_id WHERE k.n > ? AND t.{column} <> ''", (first_key,))
        db.execute(f"INSERT INTO sys_user__words_{column} (rowid, pieces) "
                   f"SELECT k.n, tollgate_word_pieces(t.{column}) FROM sys_user__text_key k "
                   f"JOIN sys_user t ON t.sys_id = k.sys_id WHERE k.n > ? AND t.{column} <> ''", (first_key,))
    for _, sql in triggers:
        db.execute(sql)
    db.commit()
    db.close()


def copy_rows(url, table, columns, rows):
    buf = io.StringIO()
    for row in rows:
        buf.write("\t".join(str(v) for v in row) + "\n")
    subprocess.run(["psql", url, "-qc", f"\\copy {table} ({', '.join(columns)}) FROM STDIN"],
                   input=buf.getvalue().encode(), check=True)


def psql(url, *commands, capture=False):
    args = ["psql", url, "-qAt"]
    for c in commands:
        args += ["-c", c]
    return subprocess.run(args, check=True, capture_output=capture, text=True).stdout


def seed_postgres(url, rng, words, n):
    # As a bulk load should: the trigram indexes are dropped while the rows go
    # in and built again from their own definitions (fastupdate off included),
    # one pass each instead of a posting update per row.
    indexes = [line for line in psql(
        url, "SELECT indexdef FROM pg_indexes WHERE tablename IN ('sdp_release', 'sys_user') "
        "AND indexname LIKE '%\\_trgm'", capture=True).splitlines() if line]
    assert len(indexes) == 5, indexes
    psql(url, *("DROP INDEX " + d.split()[2] for d in indexes))
    rel = ((i, t, d, 1, st, su, 4, s, e, c, "bench", "false")
           for (i, t, d, st, su, s, e, c) in releases(rng, words, n))
    copy_rows(url, "sdp_release", ["id", "title", "description", "template_id", "stage_id", "status_id",
                                   "priority_id", "scheduled_start", "scheduled_end", "created_time",
                                   "created_by", "emergency"], rel)
    usr = ((s, NOW, "bench", NOW, "bench", 0, u, name, mail, "true", "false")
           for (s, u, name, mail) in users(rng, words, n))
    copy_rows(url, "sys_user", ["sys_id", "sys_created_on", "sys_created_by", "sys_updated_on",
                                "sys_updated_by", "sys_mod_count", "user_name", "name", "email", "active",
                                "locked_out"], usr)
    psql(url, "SET maintenance_work_mem = '256MB'", *indexes)
    psql(url, f"UPDATE tollgate_counter SET value = {1000 + n} WHERE name = 'sdp_release'", "ANALYZE")


def main(url, n, words_file):
    rng = random.Random(7)
    words = vocabulary(rng)
    start = time.time()
    if url.startswith("sqlite://"):
        seed_sqlite(url[len("sqlite://"):], rng, words, n)
    else:
        seed_postgres(url, rng, words, n)
    with open(words_file, "w") as f:
        f.write("\n".join(words) + "\n")
    print(f"seeded {n} releases and {n} users in {time.time() - start:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
