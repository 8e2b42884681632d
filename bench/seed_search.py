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
from collections import Counter
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


# The text indexes seed_sqlite fills: (index, SELECT of (rowid, value)).
# Each is built whole (every row, the demo's too) in a database file of its
# own by one of the worker processes, then copied into the real one.
SQLITE_INDEXES = [
    (f"sdp_release__{kind}_{column}",
     f"SELECT id, {value} FROM main_db.sdp_release WHERE {column} <> ''")
    for column in ("title", "description")
    for kind, value in (("text", column), ("words", f"tollgate_word_pieces({column})"))
] + [
    (f"sys_user__{kind}_{column}",
     f"SELECT k.n, {value} FROM main_db.sys_user__text_key k JOIN main_db.sys_user t "
     f"ON t.sys_id = k.sys_id WHERE t.{column} <> ''")
    for column in ("user_name", "name", "email")
    for kind, value in (("text", f"t.{column}"), ("words", f"tollgate_word_pieces(t.{column})"))
]


def build_index(job):
    """Builds one FTS5 index in its own file (a worker process); returns
    the file's name."""
    path, index, select = job
    import tollgate_sqlite
    part = f"{path}.{index}.part"
    db = tollgate_sqlite.connect(part)
    db.execute("ATTACH DATABASE ? AS main_db", (path,))
    create = db.execute("SELECT sql FROM main_db.sqlite_master WHERE name = ?", (index,)).fetchone()[0]
    db.execute(create)
    # FTS5's own flush size: larger (fewer segments to merge while loading)
    # ends the load with big segments on the lowest level, which the merges
    # after the next few writes rewrite whole, stalling a write for a second
    # or more (measured: 64 MB, 3.9 s; 8 MB, 1.1 s; the default, 0.2 s).
    columns = [r[1] for r in db.execute(f"PRAGMA table_info({index})")]
    db.execute(f"INSERT INTO {index} (rowid, {columns[0]}) {select}")
    db.commit()
    db.close()
    return part


def seed_sqlite(path, rng, words, n):
    import multiprocessing
    import os
    import tollgate_sqlite
    db = tollgate_sqlite.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    # A row at a time through the text-index triggers costs about 50 us; the
    # triggers are set aside while the rows go in, and the indexes (trigram
    # and word pieces, migrations 16 and 23) are built afterwards, two at a
    # time on two cores, each in a file of its own whose tables replace the
    # index's (an FTS5 index is nothing but its shadow tables). The releases'
    # indexes are built while the users go in, and each index is copied in
    # as soon as it is built, so both cores stay busy.
    triggers = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
        "AND (name LIKE 'sdp\\_release\\_\\_text%' ESCAPE '\\' OR name LIKE 'sys\\_user\\_\\_text%' ESCAPE '\\')"
    ).fetchall()
    assert len(triggers) == 9, triggers
    for name, _ in triggers:
        db.execute(f"DROP TRIGGER {name}")
    # The biggest first within each table, so the two workers finish together.
    jobs = sorted(((path, index, select) for index, select in SQLITE_INDEXES),
                  key=lambda j: (j[1].endswith(("_description", "_user_name", "_email")), j[1]))
    with multiprocessing.Pool(min(2, os.cpu_count() or 1)) as pool:
        db.executemany(
            "INSERT INTO sdp_release (id, title, description, template_id, stage_id, status_id, priority_id, "
            "scheduled_start, scheduled_end, created_time, created_by, emergency) "
            "VALUES (?, ?, ?, 1, ?, ?, 4, ?, ?, ?, 'bench', 0)", releases(rng, words, n))
        db.execute("UPDATE tollgate_counter SET value = ? WHERE name = 'sdp_release'", (1000 + n,))
        db.commit()
        built = [(index, pool.apply_async(build_index, (job,)))
                 for job in jobs if (index := job[1]).startswith("sdp_release")]
        db.executemany(
            "INSERT INTO sys_user (sys_id, sys_created_on, sys_created_by, sys_updated_on, sys_updated_by, "
            "sys_mod_count, user_name, name, email, active, locked_out) "
            f"VALUES (?, '{NOW}', 'bench', '{NOW}', 'bench', 0, ?, ?, ?, TRUE, FALSE)", users(rng, words, n))
        db.execute("INSERT INTO sys_user__text_key (sys_id) SELECT sys_id FROM sys_user "
                   "WHERE sys_id NOT IN (SELECT sys_id FROM sys_user__text_key)")
        db.commit()
        built += [(index, pool.apply_async(build_index, (job,)))
                  for job in jobs if (index := job[1]).startswith("sys_user")]
        for index, result in built:
            copy_index(db, index, result.get())
    for _, sql in triggers:
        db.execute(sql)
    db.commit()
    db.close()


def copy_index(db, index, part):
    """Replaces the shadow tables of the FTS5 table `index` with those built
    in the file `part`, and removes the file."""
    import os
    db.execute("ATTACH DATABASE ? AS part", (part,))
    shadows = [r[0] for r in db.execute(
        "SELECT name FROM part.sqlite_master WHERE type = 'table' AND name LIKE ? ESCAPE '\\'",
        (index.replace("_", "\\_") + "\\_%",))]
    for shadow in shadows:
        db.execute(f"DELETE FROM main.{shadow}")
        db.execute(f"INSERT INTO main.{shadow} SELECT * FROM part.{shadow}")
    db.commit()
    db.execute("DETACH DATABASE part")
    os.remove(part)


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


def word_pieces(word, cache={}):
    """The distinct runs of four to six letters of one lower-cased word: what
    migration 25's tollgate_word_pieces gives for it."""
    got = cache.get(word)
    if got is None:
        got = cache[word] = frozenset(
            word[i:i + k] for k in (4, 5, 6) for i in range(len(word) - k + 1))
    return got


def piece_counts(pairs, fixed):
    """Migration 25's counts for values made of two drawn words (`pairs`, one
    (first, second) a row; second may be None) and words every value has
    (`fixed`): for each piece, the number of rows holding it, by inclusion and
    exclusion instead of a union per row. A piece of the fixed words is in
    every row; any other is in a row through its first word or its second,
    less the rows where both hold it."""
    rows = 0
    firsts, seconds, both = Counter(), Counter(), Counter(pairs)
    for (a, b), m in both.items():
        rows += m
        firsts[a] += m
        if b is not None:
            seconds[b] += m
    everywhere = frozenset().union(*(word_pieces(w) for w in fixed))
    counts = Counter({p: rows for p in everywhere})
    for drawn in (firsts, seconds):
        for w, m in drawn.items():
            for p in word_pieces(w) - everywhere:
                counts[p] += m
    for (a, b), m in both.items():
        if b is not None:
            for p in (word_pieces(a) & word_pieces(b)) - everywhere:
                counts[p] -= m
    return counts


def seed_postgres(url, rng, words, n):
    # As a bulk load should: the trigram indexes are dropped while the rows go
    # in and built again from their own definitions (fastupdate off included),
    # one pass each instead of a posting update per row.
    indexes = [line for line in psql(
        url, "SELECT indexdef FROM pg_indexes WHERE tablename IN ('sdp_release', 'sys_user') "
        "AND indexname LIKE '%\\_trgm'", capture=True).splitlines() if line]
    assert len(indexes) == 5, indexes
    psql(url, *("DROP INDEX " + d.split()[2] for d in indexes))
    # The piece counts (migration 25) are worked out here and added to the
    # demo's, as its statement triggers would, one row per piece.
    triggers = [f"{t}__pieces_insert" for t in ("sdp_release", "sys_user")]
    psql(url, *(f"ALTER TABLE {t.split('__')[0]} DISABLE TRIGGER {t}" for t in triggers))
    rel = [(i, t, d, 1, st, su, 4, s, e, c, "bench", "false")
           for (i, t, d, st, su, s, e, c) in releases(rng, words, n)]
    copy_rows(url, "sdp_release", ["id", "title", "description", "template_id", "stage_id", "status_id",
                                   "priority_id", "scheduled_start", "scheduled_end", "created_time",
                                   "created_by", "emergency"], rel)
    usr = [(s, NOW, "bench", NOW, "bench", 0, u, name, mail, "true", "false")
           for (s, u, name, mail) in users(rng, words, n)]
    copy_rows(url, "sys_user", ["sys_id", "sys_created_on", "sys_created_by", "sys_updated_on",
                                "sys_updated_by", "sys_mod_count", "user_name", "name", "email", "active",
                                "locked_out"], usr)
    psql(url, *(f"ALTER TABLE {t.split('__')[0]} ENABLE TRIGGER {t}" for t in triggers))
    titles = [tuple(r[1].lower().split()[:2]) for r in rel]
    descriptions = [(r[2].split()[0].lower(), None) for r in rel]
    names = [tuple(r[7].lower().split()) for r in usr]
    del rel, usr
    for counts, pairs, fixed in [
        ("sdp_release__pieces_title", titles, ["release"]),
        ("sdp_release__pieces_description", descriptions, ["upgrade"]),
        ("sys_user__pieces_user_name", names, []),
        ("sys_user__pieces_name", names, []),
        ("sys_user__pieces_email", names, ["example"]),
    ]:
        counted = piece_counts(pairs, fixed)
        psql(url, "CREATE TABLE bench_counts (piece TEXT, n BIGINT)")
        copy_rows(url, "bench_counts", ["piece", "n"], counted.items())
        psql(url, f"INSERT INTO {counts} AS c SELECT piece, n FROM bench_counts "
                  "ON CONFLICT (piece) DO UPDATE SET n = c.n + excluded.n", "DROP TABLE bench_counts")
    psql(url, "SET maintenance_work_mem = '256MB'", *indexes)
    # VACUUM as well as ANALYZE, as after any bulk load: it sets the rows'
    # hint bits and the visibility map now, rather than the first searches
    # doing it (and autovacuum arriving in the middle of a measurement).
    psql(url, f"UPDATE tollgate_counter SET value = {1000 + n} WHERE name = 'sdp_release'",
         "VACUUM ANALYZE")


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
