//! Free/busy: when a person is busy, as ResolveRecipients Availability
//! reports it. The embedded store computes it from the person's events
//! (`from_events`); Horde publishes it as a VFREEBUSY (`from_vfreebusy`,
//! RFC 5545 3.6.4), which also says which period it covers.

use super::occurrences;
use crate::convert::contentline::Component;
use crate::convert::eas_fields::parse_time;
use crate::convert::ical::parse_duration;
use crate::model::event::{BusyStatus, Event};
use chrono::{DateTime, Utc};

/// One busy period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Tentative, Busy or OutOfOffice (free time is not listed).
    pub status: BusyStatus,
}

/// What is known of a person's time: the busy periods inside `covered`;
/// outside it nothing is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeBusy {
    pub covered: (DateTime<Utc>, DateTime<Utc>),
    pub busy: Vec<Busy>,
}

/// The busy periods of `events` in `[start, end)`: every occurrence that is
/// not free (an event without a busy status counts as busy, as in
/// MS-ASCAL), cancelled meetings left out.
pub fn from_events(events: &[Event], start: DateTime<Utc>, end: DateTime<Utc>) -> FreeBusy {
    let busy = events
        .iter()
        .filter(|e| e.meeting_status.is_none_or(|m| m & 4 == 0))
        .flat_map(|e| occurrences::between(e, start, end))
        .filter_map(|o| {
            let status = match o.busy.unwrap_or(BusyStatus::Busy) {
                BusyStatus::Free | BusyStatus::WorkingElsewhere => return None,
                other => other,
            };
            Some(Busy {
                start: o.start,
                end: o.end,
                status,
            })
        })
        .collect();
    FreeBusy {
        covered: (start, end),
        busy,
    }
}

/// A published VFREEBUSY: its DTSTART/DTEND as the covered period and its
/// FREEBUSY periods (`start/end` or `start/duration`; FBTYPE BUSY by
/// default, BUSY-TENTATIVE, BUSY-UNAVAILABLE as out of office, FREE left
/// out). `None` when the text holds no VFREEBUSY with a period.
pub fn from_vfreebusy(text: &str) -> Option<FreeBusy> {
    let roots = Component::parse_all(text).ok()?;
    let vfb = roots
        .iter()
        .flat_map(|c| c.components_named("VFREEBUSY"))
        .next()?;
    let time = |name: &str| vfb.property(name).and_then(|p| parse_time(&p.value));
    let covered = (time("DTSTART")?, time("DTEND")?);
    let mut busy = Vec::new();
    for line in vfb.properties_named("FREEBUSY") {
        let status = match line
            .param_value("FBTYPE")
            .map(|t| t.to_ascii_uppercase())
            .as_deref()
        {
            None | Some("BUSY") => BusyStatus::Busy,
            Some("BUSY-TENTATIVE") => BusyStatus::Tentative,
            Some("BUSY-UNAVAILABLE") => BusyStatus::OutOfOffice,
            Some(_) => continue,
        };
        for period in line.value.split(',') {
            let Some((from, to)) = period.trim().split_once('/') else {
                continue;
            };
            let Some(start) = parse_time(from) else {
                continue;
            };
            let end = parse_time(to)
                .or_else(|| parse_duration(to).and_then(|d| start.checked_add_signed(d)));
            if let Some(end) = end.filter(|e| *e > start) {
                busy.push(Busy { start, end, status });
            }
        }
    }
    Some(FreeBusy { covered, busy })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::When;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap()
    }

    #[test]
    fn horde_vfreebusy() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\nBEGIN:VFREEBUSY\r\n\
            ORGANIZER;CN=bob:\r\nDTSTART:20261127T000000Z\r\nDTEND:20261227T000000Z\r\n\
            FREEBUSY:20261201T100000Z/20261201T113000Z\r\n\
            FREEBUSY;FBTYPE=BUSY-TENTATIVE:20261202T100000Z/PT1H,20261203T100000Z/PT30M\r\n\
            FREEBUSY;FBTYPE=FREE:20261204T100000Z/PT1H\r\n\
            END:VFREEBUSY\r\nEND:VCALENDAR\r\n";
        let fb = from_vfreebusy(text).unwrap();
        assert_eq!(
            fb.covered.0,
            Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap()
        );
        assert_eq!(fb.busy.len(), 3);
        assert_eq!(
            fb.busy[0].end,
            Utc.with_ymd_and_hms(2026, 12, 1, 11, 30, 0).unwrap()
        );
        assert_eq!(fb.busy[1].status, BusyStatus::Tentative);
        assert_eq!(
            fb.busy[2].end - fb.busy[2].start,
            chrono::Duration::minutes(30)
        );
        assert_eq!(from_vfreebusy("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), None);
    }

    #[test]
    fn events_to_busy_periods() {
        let event = |h, busy, meeting_status| Event {
            start: Some(When::At(at(1, h))),
            end: Some(When::At(at(1, h + 1))),
            busy_status: busy,
            meeting_status,
            ..Event::default()
        };
        let events = [
            event(9, None, None),
            event(10, Some(BusyStatus::Free), None),
            event(11, Some(BusyStatus::OutOfOffice), None),
            event(12, Some(BusyStatus::Busy), Some(7)), // cancelled
        ];
        let fb = from_events(&events, at(1, 0), at(2, 0));
        assert_eq!(fb.covered, (at(1, 0), at(2, 0)));
        let got: Vec<_> = fb.busy.iter().map(|b| (b.start, b.status)).collect();
        assert_eq!(
            got,
            [
                (at(1, 9), BusyStatus::Busy),
                (at(1, 11), BusyStatus::OutOfOffice)
            ]
        );
    }
}
