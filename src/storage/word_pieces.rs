//! Word pieces, for counting a search's matches cheaply: SQLite's second
//! text index, and on PostgreSQL the counts kept per piece (migration 25,
//! [`counted_piece`], [`fold_counts`]).
//!
//! The trigram index (`{table}__text_{column}`) finds any substring, but to
//! count the rows containing `kalo` it reads the position lists of `kal` and
//! `alo` for every row holding either and matches them up: about 4 ms at a
//! million rows for a term of common syllables, and a list with its total
//! pays that on every request. The word-piece index
//! (`{table}__words_{column}`, migration 23) answers the common search, a
//! piece of one word, from a single list of row numbers:
//!
//! - a value's *words* are its maximal runs of ASCII letters, lower-cased;
//! - each word contributes, at every position with at least [`MIN_NEEDLE`]
//!   letters left, the piece that starts there, cut to [`MAX_NEEDLE`]
//!   letters (`kalomi` → `kalomi`, `alomi`, `lomi`);
//! - the FTS5 table keeps the pieces without positions (`detail=none`) and
//!   with prefix indexes of every length below [`MAX_NEEDLE`], so the rows
//!   with a piece starting `kalo` are one list in the index (and those with a
//!   piece starting with a needle of [`MAX_NEEDLE`] letters, the rows with
//!   that very piece: one list too).
//!
//! A needle of [`MIN_NEEDLE`] to [`MAX_NEEDLE`] ASCII letters occurs in a
//! value exactly when one of the value's pieces starts with it: an
//! occurrence of letters lies inside one run of letters, and the piece that
//! starts where the occurrence does is at least as long as the needle. So
//! the word-piece index decides such a search alone, as the trigram index
//! does any other (digits, spaces, punctuation, other scripts, three letters
//! or more than six). Both fold ASCII case.
//!
//! The pieces are written by the SQL function [`FUNCTION`], registered on
//! every SQLite connection, from the triggers that keep the index in step.
//! Its output is linear in the value (at most [`MAX_NEEDLE`] + 1 bytes per
//! letter), as the trigram index's is.

/// The SQL function the triggers call: `tollgate_word_pieces(text)`.
pub const FUNCTION: &str = "tollgate_word_pieces";

/// The shortest needle the index serves: three letters are one trigram,
/// which the trigram index counts from a single list already.
pub const MIN_NEEDLE: usize = 4;

/// The longest needle the index serves, and the length pieces are cut to.
/// Prefix indexes exist for lengths [`MIN_NEEDLE`] to `MAX_NEEDLE - 1`; a
/// needle of `MAX_NEEDLE` letters matches whole pieces. Every prefix index
/// costs about as much to write as the pieces themselves: six (migration 24)
/// builds the index in two thirds of the time seven took, and a needle of
/// seven letters has five trigrams, enough for the trigram index to find
/// few rows.
pub const MAX_NEEDLE: usize = 6;

/// The pieces of `text`, separated by spaces (see the module's comment).
pub fn pieces(text: &str) -> String {
    let mut out = String::new();
    for word in text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= MIN_NEEDLE)
    {
        // ASCII letters only, so every byte is a character.
        for start in 0..=word.len() - MIN_NEEDLE {
            let end = (start + MAX_NEEDLE).min(word.len());
            if !out.is_empty() {
                out.push(' ');
            }
            out.extend(word[start..end].chars().map(|c| c.to_ascii_lowercase()));
        }
    }
    out
}

/// The FTS5 query for rows whose pieces start with `needle`, when the index
/// serves it: [`MIN_NEEDLE`] to [`MAX_NEEDLE`] ASCII letters. A needle of
/// [`MAX_NEEDLE`] letters is a whole piece, asked as a term: FTS5 answers a
/// prefix without a prefix index of its length by merging every term it
/// covers before giving the first row.
pub fn prefix_query(needle: &str) -> Option<String> {
    let piece = counted_piece(needle)?;
    let prefix = if needle.len() < MAX_NEEDLE { "*" } else { "" };
    Some(format!("\"{piece}\"{prefix}"))
}

/// The piece a needle is, lower-cased, when pieces serve it: [`MIN_NEEDLE`]
/// to [`MAX_NEEDLE`] ASCII letters. On PostgreSQL the rows holding each
/// piece (every run of those lengths inside a word, not only those starting
/// where the pieces above do) are counted beside them (migration 25,
/// `tollgate_word_pieces` in SQL), so such a needle's total is one row.
pub fn counted_piece(needle: &str) -> Option<String> {
    let serves = (MIN_NEEDLE..=MAX_NEEDLE).contains(&needle.len())
        && needle.bytes().all(|b| b.is_ascii_alphabetic());
    serves.then(|| needle.to_ascii_lowercase())
}

/// PostgreSQL: moves the piece counts' deltas into the counts (migration
/// 25, `tollgate_fold_piece_counts`); answers how many delta rows it
/// folded. A count is right before and after; folding keeps the deltas, which
/// every count of a piece reads, few. One replica folds at a time (the
/// others answer 0 at once). Nothing to fold on SQLite.
pub async fn fold_counts(db: &super::Db) -> super::Result<i64> {
    if db.backend() != super::Backend::Postgres {
        return Ok(0);
    }
    let row = db
        .fetch_optional("SELECT tollgate_fold_piece_counts() AS n", &[])
        .await?;
    Ok(row.and_then(|r| r.int("n")).unwrap_or(0))
}

/// PostgreSQL: runs `count` (a `dialect::text_count` statement, its
/// arguments `args`) and answers the matches it counts with the number of
/// rows of `table` as the statistics have it, which together choose how a
/// page is read (`dialect::SearchRead`).
pub async fn count_with_table_size(
    db: &super::Db,
    count: &str,
    args: &[super::Value],
    table: &str,
) -> super::Result<(i64, i64)> {
    let sql = format!(
        "SELECT ({count}) AS n, (SELECT CAST(GREATEST(reltuples, 0) AS BIGINT) FROM pg_class \
         WHERE oid = '{table}'::regclass) AS size"
    );
    let row = db.fetch_optional(&sql, args).await?;
    let int = |name| row.as_ref().and_then(|r| r.int(name)).unwrap_or(0);
    Ok((int("n"), int("size")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_start_at_every_letter_with_enough_left_and_stop_at_the_longest_needle() {
        assert_eq!(pieces("Kalomi"), "kalomi alomi lomi");
        assert_eq!(
            pieces("Venorquilin"),
            "venorq enorqu norqui orquil rquili quilin uilin ilin"
        );
        assert_eq!(
            pieces("Kalo-Mira release 42"),
            "kalo mira releas elease lease ease"
        );
        assert_eq!(pieces("ab abc 1234 é"), "");
        assert_eq!(pieces("Cafébar"), "", "a run of ASCII letters ends at é");
    }

    #[test]
    fn a_served_needle_is_in_a_value_exactly_when_a_piece_starts_with_it() {
        let values = [
            "Kalomi Venor release 1042",
            "kalo.mira123@example.com",
            "Zebra crossing 3",
            "ZEBRAZEBRAZEBRA",
            "ordinary words, with punctuation; and MIXED case",
        ];
        let needles = [
            "kalo", "alomi", "venor", "mira", "exam", "ebraz", "zebraz", "zebrazeb", "crossi",
            "crossin", "word", "ordinary", "mixed", "ithp", "nope", "kalomi", "lomive",
        ];
        for value in values {
            let pieces = pieces(value);
            for needle in needles {
                let Some(query) = prefix_query(needle) else {
                    continue;
                };
                // What the FTS5 query asks: a piece starting with the needle,
                // or (without the star) that very piece.
                let found = if query.ends_with('*') {
                    pieces.split(' ').any(|p| p.starts_with(needle))
                } else {
                    pieces.split(' ').any(|p| p == needle)
                };
                let contained = value.to_ascii_lowercase().contains(needle);
                assert_eq!(found, contained, "{needle:?} in {value:?}");
            }
        }
    }

    #[test]
    fn only_needles_of_four_to_six_ascii_letters_are_served() {
        assert_eq!(prefix_query("KaLo").as_deref(), Some("\"kalo\"*"));
        assert_eq!(prefix_query("cross").as_deref(), Some("\"cross\"*"));
        assert_eq!(prefix_query("crossi").as_deref(), Some("\"crossi\""));
        for needle in ["kal", "crossin", "ka lo", "kalo1", "café", "ka\"lo", ""] {
            assert_eq!(prefix_query(needle), None, "{needle:?}");
        }
    }
}
