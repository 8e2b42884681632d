"""Opening a Tollgate SQLite database from the benchmark seeders.

The text-index triggers call tollgate_word_pieces, a function Tollgate
registers on its own connections (src/storage/word_pieces.rs); a seeder
writing the tables directly registers this copy, which must give the same
pieces for the same text (the word-piece index forgets a row only when told
the pieces it was given)."""
import functools
import re
import sqlite3

MIN_NEEDLE = 4
MAX_NEEDLE = 6
_NOT_A_LETTER = re.compile(r"[^A-Za-z]+")


@functools.lru_cache(maxsize=1 << 16)
def _word_pieces(word):
    """The pieces of one run of letters (the seeders' values repeat a
    vocabulary of words, so each word's are worked out once)."""
    word = word.lower()
    return " ".join(word[start:start + MAX_NEEDLE] for start in range(len(word) - MIN_NEEDLE + 1))


def word_pieces(text):
    if text is None:
        return None
    return " ".join(p for p in map(_word_pieces, _NOT_A_LETTER.split(str(text))) if p)


def connect(path):
    db = sqlite3.connect(path)
    db.create_function("tollgate_word_pieces", 1, word_pieces, deterministic=True)
    return db
