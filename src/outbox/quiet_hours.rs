//! Quiet hours: unsolicited texts go out only between 08:00 and 21:00 where the texter is,
//! so a text never lights up a watched phone at night.

use chrono::{DateTime, Duration as Days, NaiveTime, TimeZone, Utc};

use crate::channels::Channel;
use crate::clock::Timestamp;

const EARLIEST: (u32, u32) = (8, 0);
const LATEST: (u32, u32) = (21, 0);

/// `None` when an unsolicited text may go now; otherwise the next moment it may.
///
/// TODO(#8): the texter's own time zone (from their number's country and region,
/// overridable per subscriber) should decide; meanwhile the channel's time zone is used,
/// which is wrong for texters abroad.
pub fn next_allowed(channel: &Channel, now: Timestamp) -> Option<Timestamp> {
    let zone = channel.hours.timezone;
    let utc = DateTime::<Utc>::from_timestamp_millis(now.millis())?;
    let local = utc.with_timezone(&zone);
    let earliest = NaiveTime::from_hms_opt(EARLIEST.0, EARLIEST.1, 0)?;
    let latest = NaiveTime::from_hms_opt(LATEST.0, LATEST.1, 0)?;
    let time = local.time();
    if time >= earliest && time < latest {
        return None;
    }
    let day = if time >= latest {
        local.date_naive() + Days::days(1)
    } else {
        local.date_naive()
    };
    let opening = zone
        .from_local_datetime(&day.and_time(earliest))
        .earliest()?;
    Some(Timestamp(opening.with_timezone(&Utc).timestamp_millis()))
}
