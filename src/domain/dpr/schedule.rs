//! Exclusion windows of schedules (blackout, maintenance, holiday), and
//! whether a calendar day overlaps one. Everything is computed in real time
//! zones, so a day is 23 or 25 hours long across a daylight-saving change.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// One schedule entry, in its schedule's local time.
#[derive(Clone, Debug)]
pub struct Window {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub repeat: Repeat,
    pub tz: Tz,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    None,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Repeat {
    pub fn parse(s: &str) -> Repeat {
        match s {
            "daily" => Repeat::Daily,
            "weekly" => Repeat::Weekly,
            "monthly" => Repeat::Monthly,
            "yearly" => Repeat::Yearly,
            _ => Repeat::None,
        }
    }
}

/// Schedule types whose entries exclude dates.
const EXCLUDING_SCHEDULE_TYPES: &[&str] = &["blackout", "maintenance", "holiday", "excluded"];
/// Entry types that exclude dates whatever their schedule's type.
const EXCLUDING_SPAN_TYPES: &[&str] = &["exclude", "blackout", "maintenance", "holiday"];

/// Whether an entry of type `span_type` in a schedule of `schedule_type` is
/// an exclusion window.
pub fn is_exclusion(schedule_type: &str, span_type: &str) -> bool {
    EXCLUDING_SPAN_TYPES.contains(&span_type)
        || (span_type != "include" && EXCLUDING_SCHEDULE_TYPES.contains(&schedule_type))
}

/// The UTC instant of a local time; in a spring-forward gap, the first
/// instant after it.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earliest, _) => earliest.with_timezone(&Utc),
        LocalResult::None => {
            let mut probe = local;
            for _ in 0..4 {
                probe += Duration::minutes(30);
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
            Utc.from_utc_datetime(&local)
        }
    }
}

/// The UTC bounds `[start, end)` of a calendar day in `tz`.
pub fn day_bounds(tz: Tz, day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = local_to_utc(tz, day.and_hms_opt(0, 0, 0).unwrap_or_default());
    let next = day.succ_opt().unwrap_or(day);
    let end = local_to_utc(tz, next.and_hms_opt(0, 0, 0).unwrap_or_default());
    (start, end)
}

impl Window {
    fn occurs_on(&self, date: NaiveDate) -> bool {
        let first = self.start.date();
        if date < first {
            return false;
        }
        match self.repeat {
            Repeat::None => date == first,
            Repeat::Daily => true,
            Repeat::Weekly => (date - first).num_days() % 7 == 0,
            Repeat::Monthly => date.day() == first.day(),
            Repeat::Yearly => date.month() == first.month() && date.day() == first.day(),
        }
    }

    /// Whether any occurrence of this window overlaps `[from, to)`.
    pub fn overlaps(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        !self.occurrences(from, to, 1).is_empty()
    }

    /// The occurrences of this window (UTC start and end) that overlap
    /// `[from, to)`, in order, at most `limit`.
    pub fn occurrences(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut found = Vec::new();
        let length = self.end - self.start;
        if length <= Duration::zero() || limit == 0 {
            return found;
        }
        // Occurrences that start up to the window's length (plus a day for
        // time-zone slack) before the range can still reach into it.
        let span_days = length.num_days() + 2;
        let from_local = from.with_timezone(&self.tz).date_naive();
        let to_local = to.with_timezone(&self.tz).date_naive();
        let mut date = from_local - Duration::days(span_days);
        while date <= to_local {
            if self.occurs_on(date) {
                let local_start = date.and_time(self.start.time());
                let start = local_to_utc(self.tz, local_start);
                let end = local_to_utc(self.tz, local_start + length);
                if start < to && end > from {
                    found.push((start, end));
                    if found.len() >= limit {
                        break;
                    }
                }
            }
            date = match date.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        found
    }
}

/// Whether the calendar day `day` (in `tz`) overlaps any of `windows`.
pub fn day_overlaps(windows: &[Window], tz: Tz, day: NaiveDate) -> bool {
    let (from, to) = day_bounds(tz, day);
    windows.iter().any(|w| w.overlaps(from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }
    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_day_across_the_autumn_change_is_25_hours() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let (a, b) = day_bounds(tz, d("2025-11-02"));
        assert_eq!((b - a).num_hours(), 25);
        let (a, b) = day_bounds(tz, d("2025-03-09"));
        assert_eq!((b - a).num_hours(), 23);
    }

    #[test]
    fn a_late_evening_window_does_not_spill_into_the_next_day_after_dst_ends() {
        let tz: Tz = "America/New_York".parse().unwrap();
        // 23:30-23:59 local on Nov 6 (EST) is 04:30-04:59 UTC on Nov 7.
        let w = Window {
            start: dt("2025-11-06 23:30:00"),
            end: dt("2025-11-06 23:59:00"),
            repeat: Repeat::None,
            tz,
        };
        assert!(day_overlaps(std::slice::from_ref(&w), tz, d("2025-11-06")));
        assert!(!day_overlaps(&[w], tz, d("2025-11-07")));
    }

    #[test]
    fn repeating_windows_recur() {
        let tz: Tz = "UTC".parse().unwrap();
        let weekly = Window {
            start: dt("2025-01-03 10:00:00"),
            end: dt("2025-01-03 12:00:00"),
            repeat: Repeat::Weekly,
            tz,
        };
        assert!(
            day_overlaps(std::slice::from_ref(&weekly), tz, d("2025-10-24")),
            "a Friday"
        );
        assert!(!day_overlaps(
            std::slice::from_ref(&weekly),
            tz,
            d("2025-10-23")
        ));
        assert!(
            !day_overlaps(&[weekly], tz, d("2024-12-27")),
            "before the first"
        );
        let yearly = Window {
            start: dt("2020-12-25 00:00:00"),
            end: dt("2020-12-26 00:00:00"),
            repeat: Repeat::Yearly,
            tz,
        };
        assert!(day_overlaps(
            std::slice::from_ref(&yearly),
            tz,
            d("2025-12-25")
        ));
        assert!(
            !day_overlaps(&[yearly], tz, d("2025-12-26")),
            "end is exclusive"
        );
    }

    #[test]
    fn occurrences_are_listed_in_order_in_utc_across_a_dst_change() {
        let tz: Tz = "America/New_York".parse().unwrap();
        // Weekly, Saturdays 22:00-02:00 local; DST ends on Sunday 2025-11-02.
        let w = Window {
            start: dt("2025-10-25 22:00:00"),
            end: dt("2025-10-26 02:00:00"),
            repeat: Repeat::Weekly,
            tz,
        };
        let from = Utc.from_utc_datetime(&dt("2025-10-27 00:00:00"));
        let to = Utc.from_utc_datetime(&dt("2025-11-10 00:00:00"));
        let found = w.occurrences(from, to, 10);
        let starts: Vec<String> = found.iter().map(|(s, _)| s.to_string()).collect();
        // 22:00 EDT is 02:00 UTC; 22:00 EST (after the change) is 03:00 UTC.
        assert_eq!(
            starts,
            ["2025-11-02 02:00:00 UTC", "2025-11-09 03:00:00 UTC"]
        );
        // The first night spans the change: five hours, not four.
        assert_eq!((found[0].1 - found[0].0).num_hours(), 5);
        assert_eq!(w.occurrences(from, to, 1).len(), 1, "at most the limit");
        assert!(w.overlaps(from, to));
    }

    #[test]
    fn exclusion_types() {
        assert!(is_exclusion("blackout", ""));
        assert!(is_exclusion("", "exclude"));
        assert!(!is_exclusion("blackout", "include"));
        assert!(!is_exclusion("business", ""));
    }
}
