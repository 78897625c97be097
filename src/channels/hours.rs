//! Opening hours of a channel: weekly periods in the channel's time zone, and holidays.
//!
//! Written as `"mon-fri 09:00-18:00"` or `"sat 10:00-14:00"`; a period that ends before it
//! starts (`"fri 22:00-02:00"`) runs past midnight. No periods means always open.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Timelike, Utc, Weekday};
use chrono_tz::Tz;

use crate::clock::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningHours {
    pub timezone: Tz,
    periods: Vec<Period>,
    holidays: Vec<NaiveDate>,
    written: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Period {
    first_day: u32,
    last_day: u32,
    opens: NaiveTime,
    closes: NaiveTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("`{0}` is not a time zone name such as Europe/Paris")]
    TimeZone(String),
    #[error("`{0}` is not a period such as \"mon-fri 09:00-18:00\"")]
    Period(String),
    #[error("`{0}` is not a date such as 2026-12-25")]
    Holiday(String),
}

impl OpeningHours {
    pub fn parse(
        timezone: &str,
        periods: &[String],
        holidays: &[String],
    ) -> Result<Self, HoursError> {
        let timezone: Tz = timezone
            .parse()
            .map_err(|_| HoursError::TimeZone(timezone.to_owned()))?;
        let written = periods
            .iter()
            .map(|period| period.trim().to_owned())
            .collect();
        let periods = periods
            .iter()
            .map(|text| parse_period(text))
            .collect::<Result<_, _>>()?;
        let holidays = holidays
            .iter()
            .map(|text| {
                NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                    .map_err(|_| HoursError::Holiday(text.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            timezone,
            periods,
            holidays,
            written,
        })
    }

    /// The hours as configured, for the out-of-hours reply.
    pub fn describe(&self) -> String {
        self.written.join(", ")
    }

    /// Always open, in UTC.
    pub fn always() -> Self {
        Self {
            timezone: Tz::UTC,
            periods: Vec::new(),
            holidays: Vec::new(),
            written: Vec::new(),
        }
    }

    /// Whether someone is on shift at `at`.
    pub fn is_open(&self, at: Timestamp) -> bool {
        if self.periods.is_empty() {
            return true;
        }
        let Some(utc) = DateTime::<Utc>::from_timestamp_millis(at.millis()) else {
            return false;
        };
        let local = utc.with_timezone(&self.timezone);
        let today = local.date_naive();
        let time = local.time().with_nanosecond(0).unwrap_or(local.time());
        let weekday = local.weekday().num_days_from_monday();
        let yesterday = (weekday + 6) % 7;
        let yesterday_date = today.pred_opt();
        self.periods.iter().any(|period| {
            let overnight = period.closes <= period.opens;
            let open_today = !self.holidays.contains(&today)
                && period.covers(weekday)
                && time >= period.opens
                && (overnight || time < period.closes);
            let open_from_yesterday = overnight
                && period.covers(yesterday)
                && yesterday_date.is_some_and(|date| !self.holidays.contains(&date))
                && time < period.closes;
            open_today || open_from_yesterday
        })
    }
}

impl Period {
    fn covers(&self, weekday: u32) -> bool {
        if self.first_day <= self.last_day {
            (self.first_day..=self.last_day).contains(&weekday)
        } else {
            weekday >= self.first_day || weekday <= self.last_day
        }
    }
}

fn parse_period(text: &str) -> Result<Period, HoursError> {
    let error = || HoursError::Period(text.to_owned());
    let (days, times) = text.trim().split_once(' ').ok_or_else(error)?;
    let (first, last) = days.split_once('-').unwrap_or((days, days));
    let (opens, closes) = times.trim().split_once('-').ok_or_else(error)?;
    Ok(Period {
        first_day: parse_weekday(first).ok_or_else(error)?,
        last_day: parse_weekday(last).ok_or_else(error)?,
        opens: NaiveTime::parse_from_str(opens, "%H:%M").map_err(|_| error())?,
        closes: parse_closing(closes).ok_or_else(error)?,
    })
}

fn parse_weekday(text: &str) -> Option<u32> {
    text.trim()
        .parse::<Weekday>()
        .ok()
        .map(|day| day.num_days_from_monday())
}

/// `24:00` closes at midnight.
fn parse_closing(text: &str) -> Option<NaiveTime> {
    if text == "24:00" {
        return NaiveTime::from_hms_opt(0, 0, 0);
    }
    NaiveTime::parse_from_str(text, "%H:%M").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        let utc = DateTime::parse_from_rfc3339(text).unwrap();
        Timestamp(utc.timestamp_millis())
    }

    fn paris(periods: &[&str], holidays: &[&str]) -> OpeningHours {
        let periods: Vec<String> = periods.iter().map(|p| p.to_string()).collect();
        let holidays: Vec<String> = holidays.iter().map(|h| h.to_string()).collect();
        OpeningHours::parse("Europe/Paris", &periods, &holidays).unwrap()
    }

    #[test]
    fn weekday_hours_are_read_in_the_channels_time_zone() {
        let hours = paris(&["mon-fri 09:00-18:00"], &[]);

        // 2026-12-03 is a Thursday; Paris is UTC+1 in December.
        assert!(hours.is_open(at("2026-12-03T08:30:00Z")));
        assert!(!hours.is_open(at("2026-12-03T07:59:00Z")));
        assert!(!hours.is_open(at("2026-12-03T17:00:00Z")));
        assert!(!hours.is_open(at("2026-12-05T10:00:00Z")));
    }

    #[test]
    fn an_overnight_period_runs_past_midnight() {
        let hours = paris(&["fri 22:00-02:00"], &[]);

        assert!(hours.is_open(at("2026-12-04T22:30:00Z")));
        assert!(hours.is_open(at("2026-12-05T00:30:00Z")));
        assert!(!hours.is_open(at("2026-12-05T01:30:00Z")));
    }

    #[test]
    fn holidays_are_closed_all_day() {
        let hours = paris(&["mon-sun 00:00-24:00"], &["2026-12-25"]);

        assert!(!hours.is_open(at("2026-12-25T12:00:00Z")));
        assert!(hours.is_open(at("2026-12-26T12:00:00Z")));
    }

    #[test]
    fn no_periods_means_always_open() {
        assert!(OpeningHours::always().is_open(at("2026-12-25T03:00:00Z")));
    }

    #[test]
    fn malformed_hours_are_refused() {
        assert!(OpeningHours::parse("Mars/Olympus", &[], &[]).is_err());
        assert!(OpeningHours::parse("UTC", &["weekdays 9-5".into()], &[]).is_err());
        assert!(OpeningHours::parse("UTC", &[], &["25/12/2026".into()]).is_err());
    }
}
