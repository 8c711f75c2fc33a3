//! Datetimes as Gorgias writes them: `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`, UTC, microseconds.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Microseconds since the Unix epoch, UTC. Ordered, copyable, and the unit cursors use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

pub const MICROS_PER_SEC: i64 = 1_000_000;
pub const MICROS_PER_HOUR: i64 = 3600 * MICROS_PER_SEC;
pub const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

impl Timestamp {
    pub fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    pub fn micros(self) -> i64 {
        self.0
    }

    pub fn from_system(t: SystemTime) -> Self {
        let micros = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
        };
        Timestamp(micros)
    }

    pub fn wall_clock() -> Self {
        Self::from_system(SystemTime::now())
    }

    pub fn plus_micros(self, micros: i64) -> Self {
        Timestamp(self.0.saturating_add(micros))
    }

    pub fn plus_secs(self, secs: i64) -> Self {
        self.plus_micros(secs.saturating_mul(MICROS_PER_SEC))
    }

    pub fn truncate_to(self, unit_micros: i64) -> Self {
        Timestamp(self.0.div_euclid(unit_micros) * unit_micros)
    }

    fn to_offset(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Parses the ISO 8601 forms clients send: with an offset (`Z`, `+02:00`) or without one
    /// (then UTC, as the docs' examples `2019-10-08T15:07:39.404658` imply), or a bare date.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let from_offset = |dt: OffsetDateTime| {
            let nanos = dt.unix_timestamp_nanos();
            i64::try_from(nanos / 1000).ok().map(Timestamp)
        };
        if let Ok(dt) = OffsetDateTime::parse(s, &Rfc3339) {
            return from_offset(dt);
        }
        // RFC 3339 wants a `T`; Python's isoformat() with a space is common too.
        let normalized = s.replacen(' ', "T", 1);
        if let Ok(dt) = OffsetDateTime::parse(&normalized, &Rfc3339) {
            return from_offset(dt);
        }
        let with_fraction =
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");
        let without_fraction = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        let minutes_only = format_description!("[year]-[month]-[day]T[hour]:[minute]");
        for fd in [with_fraction, without_fraction, minutes_only] {
            if let Ok(dt) = PrimitiveDateTime::parse(&normalized, fd) {
                return from_offset(dt.assume_utc());
            }
        }
        let date_only = format_description!("[year]-[month]-[day]");
        if let Ok(d) = time::Date::parse(s, date_only) {
            return from_offset(d.midnight().assume_utc());
        }
        None
    }

    /// ISO date parts, for reporting buckets.
    pub fn date_parts(self) -> (i32, u8, u8, u8) {
        let dt = self.to_offset();
        (dt.year(), u8::from(dt.month()), dt.day(), dt.hour())
    }

    /// Monday 00:00 of the ISO week holding this instant.
    pub fn start_of_week(self) -> Self {
        let dt = self.to_offset();
        let days_from_monday = i64::from(dt.weekday().number_days_from_monday());
        self.truncate_to(MICROS_PER_DAY)
            .plus_micros(-days_from_monday * MICROS_PER_DAY)
    }

    /// The first day of the month holding this instant, 00:00.
    pub fn start_of_month(self) -> Self {
        let dt = self.to_offset();
        let first = dt.date().replace_day(1).unwrap_or(dt.date());
        let nanos = first.midnight().assume_utc().unix_timestamp_nanos();
        Timestamp(i64::try_from(nanos / 1000).unwrap_or(self.0))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dt = self.to_offset();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            dt.microsecond()
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_gorgias() {
        let t = Timestamp::parse("2025-02-07T09:55:18.064317+00:00").unwrap();
        assert_eq!(t.to_string(), "2025-02-07T09:55:18.064317+00:00");
        let t = Timestamp::parse("2021-03-03T06:00:00Z").unwrap();
        assert_eq!(t.to_string(), "2021-03-03T06:00:00.000000+00:00");
    }

    #[test]
    fn parses_naive_offset_and_date_forms() {
        let naive = Timestamp::parse("2019-10-08T15:07:39.404658").unwrap();
        assert_eq!(naive.to_string(), "2019-10-08T15:07:39.404658+00:00");
        let offset = Timestamp::parse("2019-10-08T17:07:39+02:00").unwrap();
        assert_eq!(offset.to_string(), "2019-10-08T15:07:39.000000+00:00");
        let spaced = Timestamp::parse("2021-03-03 06:00:00").unwrap();
        assert_eq!(spaced.to_string(), "2021-03-03T06:00:00.000000+00:00");
        assert_eq!(
            Timestamp::parse("2024-01-31").unwrap().to_string(),
            "2024-01-31T00:00:00.000000+00:00"
        );
        assert!(Timestamp::parse("yesterday").is_none());
    }

    #[test]
    fn week_and_month_starts() {
        // 2024-11-14 is a Thursday.
        let t = Timestamp::parse("2024-11-14T14:18:25Z").unwrap();
        assert_eq!(
            t.start_of_week().to_string(),
            "2024-11-11T00:00:00.000000+00:00"
        );
        assert_eq!(
            t.start_of_month().to_string(),
            "2024-11-01T00:00:00.000000+00:00"
        );
    }
}
