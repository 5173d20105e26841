//! Calendar, task and note conversions: model <-> iCalendar / vNote and
//! model <-> EAS ApplicationData, per field and for whole series.
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use horde_activesync::convert::ical::{
    check_event, parse_event, parse_task, write_event, write_task,
};
use horde_activesync::convert::recurrence::{from_rrule, to_rrule, RecurrenceError, UntilStyle};
use horde_activesync::model::event::{
    Attendee, AttendeeType, BusyStatus, Event, Exception, Location, Recurrence, RecurrenceType,
    ResponseStatus, Sensitivity, When,
};
use horde_activesync::model::Task;
use proptest::prelude::*;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

const ZONES: [&str; 6] = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "UTC",
    "Pacific/Honolulu",
];

/// An event with every field set, as a 16.1 device could send it.
fn full_event() -> Event {
    Event {
        subject: Some("Planning, Q1; draft".into()),
        location: Some("Room 4".into()),
        location_details: Some(Location {
            display_name: Some("Room 4".into()),
            city: Some("Berlin".into()),
            latitude: Some(52.5),
            longitude: Some(13.4),
            ..Location::default()
        }),
        start: Some(When::At(utc(2026, 12, 1, 9, 0))),
        end: Some(When::At(utc(2026, 12, 1, 10, 30))),
        time_zone: Some("Europe/Berlin".into()),
        organizer_name: Some("Alice Example".into()),
        organizer_email: Some("alice@example.test".into()),
        attendees: Some(vec![
            Attendee {
                email: Some("bob@example.test".into()),
                name: Some("Bob".into()),
                attendee_type: Some(AttendeeType::Required),
                status: Some(ResponseStatus::Accepted),
            },
            Attendee {
                email: Some("room@example.test".into()),
                name: Some("Room".into()),
                attendee_type: Some(AttendeeType::Resource),
                status: Some(ResponseStatus::NotResponded),
            },
        ]),
        busy_status: Some(BusyStatus::OutOfOffice),
        sensitivity: Some(Sensitivity::Confidential),
        reminder: Some(15),
        categories: Some(vec!["Work".into(), "A,B".into()]),
        body: Some("Line 1\nLine 2; with, punctuation\\".into()),
        meeting_status: Some(1),
        response_requested: Some(true),
        disallow_new_time_proposal: Some(true),
        uid: Some("client-uid-1".into()),
        client_uid: Some("client-uid-1".into()),
        dtstamp: Some(utc(2026, 11, 27, 0, 0)),
        recurrence: None,
        exceptions: None,
        response_type: Some(ResponseStatus::Organizer),
        appointment_reply_time: Some(utc(2026, 11, 26, 8, 0)),
        online_meeting_conf_link: Some("https://meet.example.test/conf".into()),
        online_meeting_external_link: Some("https://meet.example.test/ext".into()),
    }
}

/// A weekly series (Tuesdays and Thursdays) with one moved and one deleted occurrence.
fn weekly_series() -> Event {
    Event {
        subject: Some("Standup".into()),
        start: Some(When::At(utc(2026, 12, 1, 9, 0))),
        end: Some(When::At(utc(2026, 12, 1, 9, 15))),
        time_zone: Some("Europe/Berlin".into()),
        uid: Some("series-1".into()),
        dtstamp: Some(utc(2026, 11, 27, 0, 0)),
        recurrence: Some(Recurrence {
            kind: Some(RecurrenceType::Weekly),
            interval: Some(1),
            day_of_week: Some(4 | 16),
            until: Some(utc(2027, 3, 30, 8, 0)),
            first_day_of_week: Some(1),
            ..Recurrence::default()
        }),
        exceptions: Some(vec![
            Exception {
                original_start: Some(When::At(utc(2026, 12, 3, 9, 0))),
                deleted: Some(true),
                changes: Box::default(),
            },
            Exception {
                original_start: Some(When::At(utc(2026, 12, 8, 9, 0))),
                deleted: None,
                changes: Box::new(Event {
                    subject: Some("Standup (moved)".into()),
                    start: Some(When::At(utc(2026, 12, 8, 13, 0))),
                    end: Some(When::At(utc(2026, 12, 8, 13, 30))),
                    ..Event::default()
                }),
            },
        ]),
        ..Event::default()
    }
}

#[test]
fn every_event_field_round_trips_through_icalendar() {
    let event = full_event();
    let text = write_event(&event, "client-uid-1");
    let back = parse_event(&text).unwrap();
    assert_eq!(back, event, "{text}");
    assert!(
        text.contains("DTSTART;TZID=Europe/Berlin:20261201T100000"),
        "{text}"
    );
    assert!(text.contains("BEGIN:VTIMEZONE"));
    assert!(text.lines().all(|l| l.len() <= 76));
}

#[test]
fn weekly_series_with_changed_and_deleted_occurrence_round_trips() {
    let event = weekly_series();
    let text = write_event(&event, "series-1");
    assert!(
        text.contains("RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=TU,TH;UNTIL=20270330T080000Z;WKST=MO"),
        "{text}"
    );
    assert!(
        text.contains("EXDATE;TZID=Europe/Berlin:20261203T100000"),
        "{text}"
    );
    assert!(
        text.contains("RECURRENCE-ID;TZID=Europe/Berlin:20261208T100000"),
        "{text}"
    );
    assert_eq!(text.matches("BEGIN:VEVENT").count(), 2);
    assert_eq!(parse_event(&text).unwrap(), event);
}

#[test]
fn kronolith_style_override_keeps_only_what_changed() {
    // The override repeats the series' fields, as Kronolith exports it.
    let text =
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:k1\r\nDTSTART:20261201T090000Z\r\n\
        DTEND:20261201T100000Z\r\nSUMMARY:Yoga\r\nLOCATION:Gym\r\nRRULE:FREQ=DAILY;COUNT=5\r\n\
        EXDATE:20261203T090000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:k1\r\n\
        RECURRENCE-ID:20261204T090000Z\r\nDTSTART:20261204T090000Z\r\nDTEND:20261204T100000Z\r\n\
        SUMMARY:Yoga\r\nLOCATION:Park\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let e = parse_event(text).unwrap();
    let r = e.recurrence.as_ref().unwrap();
    assert_eq!(
        (r.kind, r.occurrences),
        (Some(RecurrenceType::Daily), Some(5))
    );
    let ex = e.exceptions.unwrap();
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].deleted, Some(true));
    assert_eq!(ex[1].original_start, Some(When::At(utc(2026, 12, 4, 9, 0))));
    assert_eq!(
        *ex[1].changes,
        Event {
            location: Some("Park".into()),
            ..Event::default()
        }
    );
}

#[test]
fn all_day_event_keeps_its_date_in_every_zone() {
    for zone in ZONES {
        let event = Event {
            subject: Some("Holiday".into()),
            start: Some(When::Day(day(2026, 12, 24))),
            end: Some(When::Day(day(2026, 12, 25))),
            time_zone: Some(zone.into()),
            dtstamp: Some(utc(2026, 11, 27, 0, 0)),
            ..Event::default()
        };
        let text = write_event(&event, "h1");
        assert!(
            text.contains("DTSTART;VALUE=DATE:20261224"),
            "{zone}: {text}"
        );
        assert!(!text.contains("VTIMEZONE"));
        assert_eq!(
            parse_event(&text).unwrap(),
            Event {
                uid: Some("h1".into()),
                ..event
            },
            "{zone}"
        );
    }
}

#[test]
fn all_day_series_until_is_a_date() {
    let event = Event {
        start: Some(When::Day(day(2026, 12, 24))),
        end: Some(When::Day(day(2026, 12, 25))),
        time_zone: Some("America/New_York".into()),
        recurrence: Some(Recurrence {
            kind: Some(RecurrenceType::Yearly),
            day_of_month: Some(24),
            month_of_year: Some(12),
            // Midnight in New York on 2030-12-24.
            until: Some(utc(2030, 12, 24, 5, 0)),
            ..Recurrence::default()
        }),
        exceptions: Some(vec![Exception {
            original_start: Some(When::Day(day(2027, 12, 24))),
            deleted: Some(true),
            changes: Box::default(),
        }]),
        ..Event::default()
    };
    let text = write_event(&event, "y1");
    assert!(text.contains("UNTIL=20301224"), "{text}");
    assert!(text.contains("EXDATE;VALUE=DATE:20271224"), "{text}");
    let back = parse_event(&text).unwrap();
    assert_eq!(back.recurrence, event.recurrence);
    assert_eq!(back.exceptions, event.exceptions);
}

#[test]
fn every_recurrence_type_maps_to_rrule_and_back() {
    let first = day(2026, 12, 1);
    let cases = [
        (
            Recurrence {
                kind: Some(RecurrenceType::Daily),
                interval: Some(2),
                occurrences: Some(10),
                ..Default::default()
            },
            "FREQ=DAILY;INTERVAL=2;COUNT=10",
        ),
        (
            Recurrence {
                kind: Some(RecurrenceType::Daily),
                day_of_week: Some(62),
                ..Default::default()
            },
            "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
        ),
        (
            Recurrence {
                kind: Some(RecurrenceType::Weekly),
                day_of_week: Some(1 | 64),
                first_day_of_week: Some(0),
                ..Default::default()
            },
            "FREQ=WEEKLY;BYDAY=SU,SA;WKST=SU",
        ),
        (
            Recurrence {
                kind: Some(RecurrenceType::Monthly),
                day_of_month: Some(31),
                ..Default::default()
            },
            "FREQ=MONTHLY;BYMONTHDAY=31",
        ),
        (
            Recurrence {
                kind: Some(RecurrenceType::MonthlyNth),
                day_of_week: Some(32),
                week_of_month: Some(5),
                ..Default::default()
            },
            "FREQ=MONTHLY;BYDAY=-1FR",
        ),
        (
            Recurrence {
                kind: Some(RecurrenceType::MonthlyNth),
                day_of_week: Some(62),
                week_of_month: Some(5),
                ..Default::default()
            },
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        ),
        (
            Recurrence {
                kind: Some(RecurrenceType::MonthlyNth),
                day_of_week: Some(127),
                week_of_month: Some(2),
                ..Default::default()
            },
            "FREQ=MONTHLY;BYDAY=SU,MO,TU,WE,TH,FR,SA;BYSETPOS=2",
        ),
        (
            Recurrence {
                kind: Some(RecurrenceType::Yearly),
                day_of_month: Some(29),
                month_of_year: Some(2),
                ..Default::default()
            },
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        ),
        (
            Recurrence {
                kind: Some(RecurrenceType::YearlyNth),
                day_of_week: Some(16),
                week_of_month: Some(4),
                month_of_year: Some(11),
                calendar_type: Some(1),
                ..Default::default()
            },
            "RSCALE=GREGORIAN;FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
        ),
        (
            Recurrence {
                kind: Some(RecurrenceType::Weekly),
                day_of_week: Some(2),
                until: Some(utc(2027, 1, 1, 9, 0)),
                ..Default::default()
            },
            "FREQ=WEEKLY;BYDAY=MO;UNTIL=20270101T090000Z",
        ),
    ];
    for (rule, rrule) in cases {
        assert_eq!(to_rrule(&rule, UntilStyle::Utc).unwrap(), rrule);
        let back = from_rrule(rrule, first, |_| utc(2027, 1, 1, 9, 0)).unwrap();
        assert_eq!(back, rule, "{rrule}");
    }
}

#[test]
fn rrules_eas_cannot_express_are_refused() {
    let first = day(2026, 12, 1);
    for rrule in [
        "FREQ=HOURLY",
        "FREQ=DAILY;BYHOUR=9,17",
        "FREQ=YEARLY;BYMONTH=1,7",
        "FREQ=MONTHLY;BYDAY=MO",
        "FREQ=MONTHLY;BYDAY=1MO,3MO",
        "FREQ=MONTHLY;BYMONTHDAY=1,15",
        "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1,2",
        "FREQ=MONTHLY;BYDAY=-2FR",
        "FREQ=WEEKLY;BYDAY=1MO",
        "FREQ=YEARLY;BYWEEKNO=20",
        "RSCALE=HEBREW;FREQ=YEARLY",
    ] {
        let err = from_rrule(rrule, first, |_| Utc::now()).unwrap_err();
        assert!(
            matches!(err, RecurrenceError::Unsupported(_)),
            "{rrule}: {err}"
        );
    }
    for rrule in [
        "FREQ=DAILY;COUNT=2;UNTIL=20270101",
        "INTERVAL=2",
        "FREQ=DAILY;FREQ=WEEKLY",
        "FREQ=DAILY;INTERVAL=0",
    ] {
        assert!(
            matches!(
                from_rrule(rrule, first, |_| Utc::now()),
                Err(RecurrenceError::Invalid(_))
            ),
            "{rrule}"
        );
    }
    let lunar = Recurrence {
        kind: Some(RecurrenceType::Yearly),
        day_of_month: Some(1),
        month_of_year: Some(1),
        calendar_type: Some(15),
        ..Default::default()
    };
    assert!(matches!(
        to_rrule(&lunar, UntilStyle::Utc),
        Err(RecurrenceError::Unsupported(_))
    ));
    let event = Event {
        recurrence: Some(lunar),
        ..Event::default()
    };
    assert!(check_event(&event)
        .unwrap_err()
        .to_string()
        .contains("CalendarType 15"));
    // An event whose RRULE cannot be expressed is an error, not a different series.
    let text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20261201T090000Z\r\nRRULE:FREQ=MONTHLY;BYDAY=MO\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    assert!(parse_event(text).is_err());
}

#[test]
fn zones_resolve_from_vtimezone_and_floating_times() {
    let text = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:Custom Sydney\r\n\
        BEGIN:STANDARD\r\nDTSTART:20080406T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU\r\n\
        TZOFFSETFROM:+1100\r\nTZOFFSETTO:+1000\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\n\
        DTSTART:20081005T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=1SU\r\nTZOFFSETFROM:+1000\r\n\
        TZOFFSETTO:+1100\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:s\r\n\
        DTSTART;TZID=Custom Sydney:20270110T090000\r\nDURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let e = parse_event(text).unwrap();
    assert_eq!(e.time_zone.as_deref(), Some("Australia/Sydney"));
    assert_eq!(e.start, Some(When::At(utc(2027, 1, 9, 22, 0))));
    assert_eq!(e.end, Some(When::At(utc(2027, 1, 9, 23, 0))));
    let unknown = text.replace("TZID=Custom Sydney:2027", "TZID=Nowhere:2027");
    assert!(parse_event(&unknown)
        .unwrap_err()
        .to_string()
        .contains("Nowhere"));
}

#[test]
fn task_fields_round_trip_and_complete_both_ways() {
    let task = Task {
        subject: Some("File taxes".into()),
        body: Some("all of them".into()),
        utc_start_date: Some(utc(2026, 11, 27, 9, 0)),
        start_date: Some(utc(2026, 11, 27, 10, 0).naive_utc()),
        utc_due_date: Some(utc(2026, 12, 5, 17, 0)),
        due_date: Some(utc(2026, 12, 5, 18, 0).naive_utc()),
        complete: Some(true),
        date_completed: Some(utc(2026, 11, 28, 12, 0)),
        importance: Some(2),
        sensitivity: Some(Sensitivity::Private),
        reminder_set: Some(true),
        reminder_time: Some(utc(2026, 12, 5, 8, 0)),
        categories: Some(vec!["Home".into()]),
        recurrence: Some(Recurrence {
            kind: Some(RecurrenceType::Monthly),
            day_of_month: Some(5),
            interval: Some(1),
            start: Some(utc(2026, 12, 5, 0, 0)),
            regenerate: Some(false),
            dead_occur: Some(false),
            ..Recurrence::default()
        }),
        uid: Some("t1".into()),
    };
    let text = write_task(&task, "t1");
    assert!(
        text.contains("STATUS:COMPLETED") && text.contains("COMPLETED:20261128T120000Z"),
        "{text}"
    );
    assert!(text.contains("PRIORITY:1"));
    assert!(text.contains("AALARM:20261205T080000Z"), "{text}");
    assert_eq!(parse_task(&text).unwrap(), task);
    // Completed in Horde (Nag's export) reads as complete.
    let nag = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:n1\r\nSUMMARY:Task one (edited)\r\nPRIORITY:5\r\n\
        DUE:20261205T170000Z\r\nSTATUS:COMPLETED\r\nCOMPLETED:20261126T221202Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    let t = parse_task(nag).unwrap();
    // Nag's own alarm export: minutes before the due date, without RELATED.
    let nag_alarm = nag
        .replace("VERSION:2.0\r\n", "VERSION:2.0\r\nPRODID:-//The Horde Project//Nag H5 (4.2.19)//EN\r\n")
        .replace("END:VTODO", "DTSTART:20261201T090000Z\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;VALUE=DURATION:-PT60M\r\nEND:VALARM\r\nEND:VTODO");
    let with_alarm = parse_task(&nag_alarm).unwrap();
    assert_eq!(
        with_alarm.reminder_time,
        Some(utc(2026, 12, 5, 16, 0)),
        "{nag_alarm}"
    );
    assert_eq!(with_alarm.reminder_set, Some(true));
    assert_eq!((t.complete, t.importance), (Some(true), Some(0)));
    assert_eq!(
        t.date_completed,
        Some(Utc.with_ymd_and_hms(2026, 11, 26, 22, 12, 2).unwrap())
    );
    // Un-completing writes NEEDS-ACTION, which Nag reads as open.
    let open = write_task(
        &Task {
            complete: Some(false),
            ..t
        },
        "n1",
    );
    assert!(open.contains("STATUS:NEEDS-ACTION") && !open.contains("COMPLETED:"));
    assert_eq!(parse_task(&open).unwrap().complete, Some(false));
}

/// Kronolith's real export (Horde 5.2 / Kronolith 4.2.29 on Debian 12, via
/// JSON-RPC `calendar.export`) of the weekly series written by
/// `write_event` (reminder left out: Kronolith crashes on reminders of
/// recurring events, see the README).
const KRONOLITH_SERIES: &str = concat!(
    "BEGIN:VCALENDAR\r\n",
    "VERSION:2.0\r\n",
    "X-WR-CALNAME:Calendar of alice\r\n",
    "PRODID:-//The Horde Project//Horde iCalendar Library//EN\r\n",
    "BEGIN:VEVENT\r\n",
    "DTSTART:20261201T090000Z\r\n",
    "DTEND:20261201T091500Z\r\n",
    "DTSTAMP:20261127T005422Z\r\n",
    "UID:hx-series-11@test\r\n",
    "CREATED:20261127T005421Z\r\n",
    "LAST-MODIFIED:20261127T005421Z\r\n",
    "SUMMARY:Standup\r\n",
    "ORGANIZER;CN=alice:mailto:alice\r\n",
    "CATEGORIES:Work,Daily\r\n",
    "CLASS:PRIVATE\r\n",
    "STATUS:TENTATIVE\r\n",
    "TRANSP:OPAQUE\r\n",
    "ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Bob:mailto:bob@example.t\r\n",
    " est\r\n",
    "RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=TU,TH;UNTIL=20270330T235959Z\r\n",
    "EXDATE;TZID=Europe/Berlin:20261203T090000Z\r\n",
    "END:VEVENT\r\n",
    "BEGIN:VEVENT\r\n",
    "DTSTART;TZID=Europe/Berlin:20261208T140000\r\n",
    "DTEND;TZID=Europe/Berlin:20261208T143000\r\n",
    "DTSTAMP:20261127T005422Z\r\n",
    "UID:hx-series-11@test\r\n",
    "CREATED:20261127T005421Z\r\n",
    "LAST-MODIFIED:20261127T005421Z\r\n",
    "SUMMARY:Standup (moved)\r\n",
    "CATEGORIES:Work,Daily\r\n",
    "CLASS:PRIVATE\r\n",
    "STATUS:TENTATIVE\r\n",
    "TRANSP:OPAQUE\r\n",
    "RECURRENCE-ID:20261208T090000Z\r\n",
    "END:VEVENT\r\n",
    "END:VCALENDAR\r\n",
);

/// Kronolith's export of an all-day event written by `write_event`.
const KRONOLITH_ALL_DAY: &str = concat!(
    "BEGIN:VCALENDAR\r\n",
    "VERSION:2.0\r\n",
    "X-WR-CALNAME:Calendar of alice\r\n",
    "PRODID:-//The Horde Project//Horde iCalendar Library//EN\r\n",
    "BEGIN:VEVENT\r\n",
    "DTSTART;VALUE=DATE:20261224\r\n",
    "DTEND;VALUE=DATE:20261225\r\n",
    "X-FUNAMBOL-ALLDAY:1\r\n",
    "DTSTAMP:20261127T005322Z\r\n",
    "UID:hx-allday-1@test\r\n",
    "CREATED:20261127T005322Z\r\n",
    "LAST-MODIFIED:20261127T005322Z\r\n",
    "SUMMARY:Holiday\r\n",
    "CLASS:PUBLIC\r\n",
    "STATUS:CONFIRMED\r\n",
    "TRANSP:OPAQUE\r\n",
    "END:VEVENT\r\n",
    "END:VCALENDAR\r\n",
);

#[test]
fn kronolith_export_of_a_series_with_exceptions_reads_back() {
    let e = parse_event(KRONOLITH_SERIES).unwrap();
    // Kronolith exports the series in UTC; the EXDATE's TZID keeps the zone.
    assert_eq!(e.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(e.start, Some(When::At(utc(2026, 12, 1, 9, 0))));
    let r = e.recurrence.as_ref().unwrap();
    assert_eq!(
        (r.kind, r.day_of_week),
        (Some(RecurrenceType::Weekly), Some(4 | 16))
    );
    let ex = e.exceptions.as_ref().unwrap();
    assert_eq!(ex.len(), 2);
    assert_eq!(
        (ex[0].original_start, ex[0].deleted),
        (Some(When::At(utc(2026, 12, 3, 9, 0))), Some(true))
    );
    assert_eq!(ex[1].original_start, Some(When::At(utc(2026, 12, 8, 9, 0))));
    assert_eq!(ex[1].changes.subject.as_deref(), Some("Standup (moved)"));
    assert_eq!(ex[1].changes.start, Some(When::At(utc(2026, 12, 8, 13, 0))));
    assert_eq!(ex[1].changes.end, Some(When::At(utc(2026, 12, 8, 13, 30))));
    assert_eq!(e.busy_status, Some(BusyStatus::Tentative));
    assert_eq!(e.sensitivity, Some(Sensitivity::Private));
}

#[test]
fn kronolith_export_of_an_all_day_event_keeps_the_date() {
    let e = parse_event(KRONOLITH_ALL_DAY).unwrap();
    assert_eq!(e.start, Some(When::Day(day(2026, 12, 24))));
    assert_eq!(e.end, Some(When::Day(day(2026, 12, 25))));
}

proptest! {
    #[test]
    fn malformed_icalendar_never_panics(text in "(BEGIN:VCALENDAR\r\n)?(BEGIN:VEVENT\r\n)?([A-Z;=:,\\-0-9TZ \r\n]{0,200})(END:VEVENT\r\n)?(END:VCALENDAR\r\n)?") {
        let _ = parse_event(&text);
        let _ = parse_task(&text);
    }

    #[test]
    fn arbitrary_property_values_never_panic(value in "\\PC{0,40}", name in "(DTSTART|DTEND|RRULE|EXDATE|DURATION|TRIGGER|RECURRENCE-ID|CATEGORIES|ATTENDEE)") {
        let text = format!(
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261201T090000Z\r\n{name}:{value}\r\n\
             BEGIN:VALARM\r\nTRIGGER:{value}\r\nEND:VALARM\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:{value}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        let _ = parse_event(&text);
        let _ = parse_task(&text.replace("VEVENT", "VTODO"));
    }
}

// ------------------------------------------------------------ EAS side

mod eas {
    use super::*;
    use horde_activesync::convert::body::BodyPreference;
    use horde_activesync::convert::eas_calendar::{self, WriteOptions};
    use horde_activesync::convert::eas_fields::{ItemError, ItemRules};
    use horde_activesync::convert::timezone::TimeZoneInfo;
    use horde_activesync::convert::{eas_note, eas_task, note};
    use horde_activesync::eas::version::Version;
    use horde_activesync::wbxml::codepages::{
        airsync, airsyncbase as asb, calendar as cal, notes as n, tasks as t,
    };
    use horde_activesync::wbxml::{Element, Node};

    fn rules(v: Version) -> ItemRules {
        ItemRules::new(v)
    }

    fn opts(v: Version) -> WriteOptions<'static> {
        WriteOptions {
            rules: rules(v),
            body_preferences: &[],
            default_zone: chrono_tz::UTC,
        }
    }

    fn blob(zone: &str, at: DateTime<Utc>) -> String {
        TimeZoneInfo::for_zone(zone.parse().unwrap(), at).to_base64()
    }

    fn body(text: &str) -> Element {
        Element::new(asb::Body)
            .with_text(asb::Type, "1")
            .with_text(asb::Data, text)
    }

    /// True when everything `sent` holds is in `got` (same text, and each
    /// child element found among `got`'s children), in any order.
    fn contains(got: &Element, sent: &Element) -> bool {
        got.tag == sent.tag
            && sent.text() == got.text()
            && sent
                .elements()
                .all(|s| got.children_with(s.tag).any(|g| contains(g, s)))
    }

    fn assert_contains(got: &Element, sent: &Element) {
        for s in sent.elements() {
            assert!(
                got.children_with(s.tag).any(|g| contains(g, s)),
                "{:?} not given back; got {:#?}",
                s,
                got.children_with(s.tag).collect::<Vec<_>>()
            );
        }
    }

    /// device -> model -> iCalendar -> model -> device
    fn through_icalendar(app: &Element, v: Version) -> (Element, String) {
        let event = eas_calendar::from_application_data(app, rules(v)).unwrap();
        let text = write_event(&event, event.uid.as_deref().unwrap_or("srv-1"));
        let back = parse_event(&text).unwrap();
        (eas_calendar::to_application_data(&back, &opts(v)), text)
    }

    fn device_event(v: Version) -> Element {
        let mut app = Element::new(airsync::ApplicationData)
            .with_text(cal::Timezone, blob("Europe/Berlin", utc(2026, 12, 1, 9, 0)))
            .with_text(cal::AllDayEvent, "0")
            .with_text(cal::StartTime, "20261201T090000Z")
            .with_text(cal::EndTime, "20261201T103000Z")
            .with_text(cal::Subject, "Planning; Q1, draft")
            .with_text(cal::OrganizerName, "Alice Example")
            .with_text(cal::OrganizerEmail, "alice@example.test")
            .with_text(cal::DtStamp, "20261127T000000Z")
            .with_text(cal::UID, "client-uid-1")
            .with_text(cal::Sensitivity, "2")
            .with_text(cal::BusyStatus, "3")
            .with_text(cal::Reminder, "15")
            .with_text(cal::MeetingStatus, "1")
            .with(
                Element::new(cal::Categories)
                    .with_text(cal::Category, "Work")
                    .with_text(cal::Category, "A,B"),
            );
        let attendee = |email: &str, name: &str, status: &str, kind: &str| {
            let a = Element::new(cal::Attendee)
                .with_text(cal::Email, email)
                .with_text(cal::Name, name);
            if v >= Version::V12_0 {
                a.with_text(cal::AttendeeStatus, status)
                    .with_text(cal::AttendeeType, kind)
            } else {
                a
            }
        };
        app.push(
            Element::new(cal::Attendees)
                .with(attendee("bob@example.test", "Bob", "3", "1"))
                .with(attendee("carol@example.test", "Carol", "4", "2"))
                .with(attendee("room@example.test", "Room", "5", "3")),
        );
        if v >= Version::V12_0 {
            app.push(body("Line 1\nLine 2"));
        } else {
            app.push_text(cal::Body, "Line 1\nLine 2");
        }
        if v >= Version::V14_0 {
            app.push_text(cal::ResponseRequested, "1");
            app.push_text(cal::DisallowNewTimeProposal, "1");
            app.push_text(cal::ResponseType, "1");
            app.push_text(cal::AppointmentReplyTime, "20261126T080000Z");
            app.push_text(cal::OnlineMeetingConfLink, "https://meet.example.test/c");
            app.push_text(
                cal::OnlineMeetingExternalLink,
                "https://meet.example.test/e",
            );
        }
        if v >= Version::V16_0 {
            app.push_text(cal::ClientUid, "client-uid-1");
            app.push(
                Element::new(asb::Location)
                    .with_text(asb::DisplayName, "Room 4")
                    .with_text(asb::City, "Berlin")
                    .with_text(asb::Latitude, "52.5")
                    .with_text(asb::Longitude, "13.4"),
            );
        } else {
            app.push_text(cal::Location, "Room 4");
        }
        app
    }

    #[test]
    fn every_calendar_field_round_trips_device_to_icalendar_to_device() {
        for v in [
            Version::V2_5,
            Version::V12_1,
            Version::V14_0,
            Version::V14_1,
            Version::V16_0,
            Version::V16_1,
        ] {
            let sent = device_event(v);
            let (got, text) = through_icalendar(&sent, v);
            assert_contains(&got, &sent);
            assert!(text.contains("TZID=Europe/Berlin"), "{v}: {text}");
            // The comparison itself notices a changed value.
            let other = Element::new(airsync::ApplicationData).with_text(cal::Subject, "Planning");
            assert!(!got
                .children_with(cal::Subject)
                .any(|g| contains(g, other.child(cal::Subject).unwrap())));
        }
    }

    #[test]
    fn version_rules_decide_location_and_body_elements() {
        let event = full_event();
        let old = eas_calendar::to_application_data(&event, &opts(Version::V2_5));
        assert_eq!(old.text_of(cal::Location), Some("Room 4"));
        assert_eq!(old.text_of(cal::Body), Some(event.body.as_deref().unwrap()));
        assert!(old.child(asb::Body).is_none() && old.child(cal::ResponseType).is_none());
        assert!(old.child(cal::ClientUid).is_none());
        let new = eas_calendar::to_application_data(&event, &opts(Version::V16_1));
        assert!(new.child(cal::Location).is_none());
        assert_eq!(
            new.path(&[asb::Location, asb::City])
                .and_then(Element::text),
            Some("Berlin")
        );
        assert_eq!(
            new.path(&[asb::Body, asb::Data]).and_then(Element::text),
            event.body.as_deref()
        );
        assert_eq!(new.text_of(cal::ClientUid), Some("client-uid-1"));
        // Truncation follows the device's BodyPreference.
        let prefs = [BodyPreference {
            body_type: 1,
            truncation_size: Some(4),
            all_or_none: false,
            preview: None,
        }];
        let o = WriteOptions {
            rules: rules(Version::V14_1),
            body_preferences: &prefs,
            default_zone: chrono_tz::UTC,
        };
        let cut = eas_calendar::to_application_data(&event, &o);
        assert_eq!(
            cut.path(&[asb::Body, asb::Data]).and_then(Element::text),
            Some("Line")
        );
    }

    fn weekly_device_series(v: Version) -> Element {
        let instance = if v >= Version::V16_0 {
            asb::InstanceId
        } else {
            cal::ExceptionStartTime
        };
        Element::new(airsync::ApplicationData)
            .with_text(
                cal::Timezone,
                blob("America/New_York", utc(2026, 12, 1, 14, 0)),
            )
            .with_text(cal::AllDayEvent, "0")
            .with_text(cal::StartTime, "20261201T140000Z")
            .with_text(cal::EndTime, "20261201T143000Z")
            .with_text(cal::Subject, "Standup")
            .with_text(cal::UID, "weekly-1")
            .with(
                Element::new(cal::Recurrence)
                    .with_text(cal::Type, "1")
                    .with_text(cal::Interval, "1")
                    .with_text(cal::DayOfWeek, "20")
                    .with_text(cal::Until, "20270330T130000Z"),
            )
            .with(
                Element::new(cal::Exceptions)
                    .with(
                        Element::new(cal::Exception)
                            .with_text(instance, "20261203T140000Z")
                            .with_text(cal::Deleted, "1"),
                    )
                    .with(
                        Element::new(cal::Exception)
                            .with_text(instance, "20261208T140000Z")
                            .with_text(cal::Subject, "Standup (moved)")
                            .with_text(cal::StartTime, "20261208T180000Z")
                            .with_text(cal::EndTime, "20261208T183000Z"),
                    ),
            )
    }

    #[test]
    fn weekly_series_with_changed_and_deleted_occurrence_round_trips_from_the_device() {
        for v in [Version::V14_1, Version::V16_1] {
            let sent = weekly_device_series(v);
            let (got, text) = through_icalendar(&sent, v);
            assert!(
                text.contains("EXDATE;TZID=America/New_York:20261203T090000"),
                "{text}"
            );
            assert!(
                text.contains("RECURRENCE-ID;TZID=America/New_York:20261208T090000"),
                "{text}"
            );
            assert!(
                text.contains("DTSTART;TZID=America/New_York:20261208T130000"),
                "{text}"
            );
            assert_contains(&got, &sent);
            assert_eq!(
                got.path(&[cal::Exceptions])
                    .unwrap()
                    .children_with(cal::Exception)
                    .count(),
                2
            );
        }
    }

    #[test]
    fn horde_series_with_exceptions_reaches_the_device() {
        let text = write_event(&weekly_series(), "series-1");
        let event = parse_event(&text).unwrap();
        let app = eas_calendar::to_application_data(&event, &opts(Version::V14_1));
        let exceptions: Vec<&Element> = app
            .path(&[cal::Exceptions])
            .unwrap()
            .children_with(cal::Exception)
            .collect();
        assert_eq!(
            exceptions[0].text_of(cal::ExceptionStartTime),
            Some("20261203T090000Z")
        );
        assert_eq!(exceptions[0].text_of(cal::Deleted), Some("1"));
        assert_eq!(
            exceptions[1].text_of(cal::ExceptionStartTime),
            Some("20261208T090000Z")
        );
        assert_eq!(exceptions[1].text_of(cal::Subject), Some("Standup (moved)"));
        assert_eq!(
            exceptions[1].text_of(cal::StartTime),
            Some("20261208T130000Z")
        );
        assert_eq!(
            app.path(&[cal::Recurrence, cal::DayOfWeek])
                .and_then(Element::text),
            Some("20")
        );
        // A reminder on a recurring event is just a field (PROTOCOL-NOTES).
        let with_reminder = Event {
            reminder: Some(10),
            ..event
        };
        let app = eas_calendar::to_application_data(&with_reminder, &opts(Version::V14_1));
        assert_eq!(app.text_of(cal::Reminder), Some("10"));
    }

    #[test]
    fn all_day_event_keeps_its_date_in_every_zone_and_version() {
        for zone in ZONES {
            let tz: chrono_tz::Tz = zone.parse().unwrap();
            let midnight = |d: u32| {
                horde_activesync::convert::timezone::from_local(
                    tz,
                    day(2026, 12, d).and_hms_opt(0, 0, 0).unwrap(),
                )
            };
            for v in [
                Version::V2_5,
                Version::V14_1,
                Version::V16_0,
                Version::V16_1,
            ] {
                let floating = v >= Version::V16_0;
                let (start, end) = if floating {
                    (
                        "20261224T000000Z".to_string(),
                        "20261225T000000Z".to_string(),
                    )
                } else {
                    (
                        midnight(24).format("%Y%m%dT%H%M%SZ").to_string(),
                        midnight(25).format("%Y%m%dT%H%M%SZ").to_string(),
                    )
                };
                let mut sent = Element::new(airsync::ApplicationData);
                // 16.0+: no Timezone for all-day events; the dates hold everywhere.
                if !floating {
                    sent.push_text(cal::Timezone, blob(zone, midnight(24)));
                }
                let sent = sent
                    .with_text(cal::AllDayEvent, "1")
                    .with_text(cal::StartTime, start)
                    .with_text(cal::EndTime, end)
                    .with_text(cal::Subject, "Holiday");
                let event = eas_calendar::from_application_data(&sent, rules(v)).unwrap();
                assert_eq!(
                    event.start,
                    Some(When::Day(day(2026, 12, 24))),
                    "{zone} {v}"
                );
                assert_eq!(event.end, Some(When::Day(day(2026, 12, 25))), "{zone} {v}");
                let expected_zone = (!floating).then_some(zone);
                assert_eq!(event.time_zone.as_deref(), expected_zone, "{zone} {v}");
                let (got, text) = through_icalendar(&sent, v);
                assert!(
                    text.contains("DTSTART;VALUE=DATE:20261224"),
                    "{zone} {v}: {text}"
                );
                assert_contains(&got, &sent);
            }
        }
    }

    #[test]
    fn off_midnight_all_day_times_widen_to_whole_days() {
        let sent = Element::new(airsync::ApplicationData)
            .with_text(cal::Timezone, blob("Europe/Berlin", utc(2026, 6, 1, 0, 0)))
            .with_text(cal::AllDayEvent, "1")
            .with_text(cal::StartTime, "20260601T100000Z")
            .with_text(cal::EndTime, "20260601T110000Z");
        let e = eas_calendar::from_application_data(&sent, rules(Version::V14_1)).unwrap();
        assert_eq!(
            (e.start, e.end),
            (
                Some(When::Day(day(2026, 6, 1))),
                Some(When::Day(day(2026, 6, 2)))
            )
        );
    }

    #[test]
    fn unmappable_or_bad_items_are_refused_with_the_reason() {
        let lunar = Element::new(airsync::ApplicationData)
            .with_text(cal::StartTime, "20261201T090000Z")
            .with(
                Element::new(cal::Recurrence)
                    .with_text(cal::Type, "5")
                    .with_text(cal::DayOfMonth, "1")
                    .with_text(cal::MonthOfYear, "1")
                    .with_text(cal::CalendarType, "15"),
            );
        let err = eas_calendar::from_application_data(&lunar, rules(Version::V14_1)).unwrap_err();
        assert!(
            matches!(err, ItemError::Recurrence(RecurrenceError::Unsupported(_))),
            "{err}"
        );
        let weekly_without_days = Element::new(airsync::ApplicationData)
            .with(Element::new(cal::Recurrence).with_text(cal::Type, "1"));
        assert!(matches!(
            eas_calendar::from_application_data(&weekly_without_days, rules(Version::V14_1)),
            Err(ItemError::Recurrence(RecurrenceError::Invalid(_)))
        ));
        let bad_time = Element::new(airsync::ApplicationData).with_text(cal::StartTime, "tomorrow");
        let err =
            eas_calendar::from_application_data(&bad_time, rules(Version::V14_1)).unwrap_err();
        assert!(err.to_string().contains("StartTime"), "{err}");
        let bad_zone = Element::new(airsync::ApplicationData).with_text(cal::Timezone, "AAAA");
        assert!(matches!(
            eas_calendar::from_application_data(&bad_zone, rules(Version::V14_1)),
            Err(ItemError::TimeZone(_))
        ));
        let bad_busy = Element::new(airsync::ApplicationData).with_text(cal::BusyStatus, "9");
        assert!(eas_calendar::from_application_data(&bad_busy, rules(Version::V14_1)).is_err());
    }

    fn device_task(v: Version) -> Element {
        let mut app = Element::new(airsync::ApplicationData)
            .with_text(t::Subject, "File taxes")
            .with_text(t::Importance, "2")
            .with_text(t::UtcStartDate, "2026-11-27T09:00:00.000Z")
            .with_text(t::StartDate, "2026-11-27T10:00:00.000Z")
            .with_text(t::UtcDueDate, "2026-12-05T17:00:00.000Z")
            .with_text(t::DueDate, "2026-12-05T18:00:00.000Z")
            .with_text(t::Complete, "1")
            .with_text(t::DateCompleted, "2026-11-28T12:00:00.000Z")
            .with_text(t::Sensitivity, "2")
            .with_text(t::ReminderSet, "1")
            .with_text(t::ReminderTime, "2026-12-05T08:00:00.000Z")
            .with(Element::new(t::Categories).with_text(t::Category, "Home"))
            .with(
                Element::new(t::Recurrence)
                    .with_text(t::Type, "3")
                    .with_text(t::Interval, "1")
                    .with_text(t::DayOfWeek, "2")
                    .with_text(t::WeekOfMonth, "5")
                    .with_text(t::Start, "2026-11-30T00:00:00.000Z")
                    .with_text(t::Regenerate, "0")
                    .with_text(t::DeadOccur, "0"),
            );
        if v >= Version::V12_0 {
            app.push(body("every receipt"));
        } else {
            app.push_text(t::Body, "every receipt");
        }
        app
    }

    #[test]
    fn every_task_field_round_trips_and_completion_travels_both_ways() {
        for v in [Version::V2_5, Version::V14_1, Version::V16_1] {
            let sent = device_task(v);
            let task = eas_task::from_application_data(&sent, rules(v)).unwrap();
            assert_eq!(task.complete, Some(true));
            let text = write_task(&task, "t-1");
            assert!(text.contains("STATUS:COMPLETED"), "{text}");
            assert!(
                text.contains("RRULE:FREQ=MONTHLY;INTERVAL=1;BYDAY=-1MO"),
                "{text}"
            );
            let back = parse_task(&text).unwrap();
            let got = eas_task::to_application_data(&back, rules(v), &[], chrono_tz::UTC);
            assert_contains(&got, &sent);
        }
        // Completed in Horde -> complete on the device; reopened -> 0.
        let nag =
            "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:n\r\nSUMMARY:x\r\nDUE:20261205T170000Z\r\n\
            STATUS:COMPLETED\r\nCOMPLETED:20261126T221202Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
        let app = eas_task::to_application_data(
            &parse_task(nag).unwrap(),
            rules(Version::V14_1),
            &[],
            "Europe/Berlin".parse().unwrap(),
        );
        assert_eq!(app.text_of(t::Complete), Some("1"));
        assert_eq!(
            app.text_of(t::DateCompleted),
            Some("2026-11-26T22:12:02.000Z")
        );
        // DueDate is the local time in the user's zone when only UTC is known.
        assert_eq!(app.text_of(t::DueDate), Some("2026-12-05T18:00:00.000Z"));
        let reopened = nag.replace(
            "STATUS:COMPLETED\r\nCOMPLETED:20261126T221202Z\r\n",
            "STATUS:NEEDS-ACTION\r\n",
        );
        let app = eas_task::to_application_data(
            &parse_task(&reopened).unwrap(),
            rules(Version::V14_1),
            &[],
            chrono_tz::UTC,
        );
        assert_eq!(app.text_of(t::Complete), Some("0"));
    }

    #[test]
    fn note_fields_round_trip_through_vnote() {
        let sent = Element::new(airsync::ApplicationData)
            .with_text(n::Subject, "Shopping")
            .with(body("Shopping\nmilk"))
            .with_text(n::MessageClass, "IPM.StickyNote")
            .with_text(n::LastModifiedDate, "2026-11-27T01:02:03.000Z")
            .with(Element::new(n::Categories).with_text(n::Category, "Home"));
        let model = eas_note::from_application_data(&sent, rules(Version::V14_1)).unwrap();
        let back = note::parse_vnote(&note::write_vnote(&model)).unwrap();
        let got = eas_note::to_application_data(&back, rules(Version::V16_1), &[]);
        assert_contains(&got, &sent);
    }

    #[test]
    fn ghosting_follows_supported() {
        let existing = full_event();
        let change = Element::new(airsync::ApplicationData)
            .with_text(cal::Subject, "Renamed")
            .with_text(cal::UID, "server-id-7");
        let sent = eas_calendar::from_application_data(&change, rules(Version::V14_1)).unwrap();
        // Without Supported nothing is ghosted: omitted properties are cleared.
        let m = eas_calendar::merge_change(&existing, &sent, None, Version::V14_1);
        assert_eq!(m.subject.as_deref(), Some("Renamed"));
        assert_eq!(
            (m.location.as_ref(), m.body.as_ref(), m.reminder),
            (None, None, None)
        );
        assert_eq!(m.start, None);
        // The client's UID is kept even when a Change carries the ServerId (TbSync).
        assert_eq!(m.uid.as_deref(), Some("client-uid-1"));
        // 16.0-only properties are never touched by a 14.1 client.
        assert_eq!(m.client_uid, existing.client_uid);
        assert_eq!(m.location_details, existing.location_details);
        // With Supported, only the listed properties are cleared when omitted.
        let supported = [cal::Subject, cal::Location, cal::Reminder];
        let m = eas_calendar::merge_change(&existing, &sent, Some(&supported), Version::V14_1);
        assert_eq!((m.location.as_ref(), m.reminder), (None, None));
        assert_eq!(m.body, existing.body);
        assert_eq!(m.start, existing.start);
        assert_eq!(m.attendees, existing.attendees);
        assert_eq!(m.categories, existing.categories);
        // 16.0+: an omitted calendar property is kept even without Supported.
        let m = eas_calendar::merge_change(&existing, &sent, None, Version::V16_1);
        assert_eq!(
            (m.subject.as_deref(), m.body.as_ref()),
            (Some("Renamed"), existing.body.as_ref())
        );
        assert_eq!(m.location_details, existing.location_details);
        // 2.5 has calendar:Body, not AirSyncBase:Body.
        let m = eas_calendar::merge_change(&existing, &sent, Some(&[cal::Body]), Version::V2_5);
        assert_eq!(m.body, None);
        assert_eq!(m.response_type, existing.response_type);
    }

    #[test]
    fn task_and_note_ghosting_keep_what_is_not_listed() {
        let existing = parse_task(&write_task(
            &Task {
                subject: Some("Old".into()),
                body: Some("keep me".into()),
                importance: Some(2),
                complete: Some(false),
                ..Task::default()
            },
            "t",
        ))
        .unwrap();
        let change = Element::new(airsync::ApplicationData)
            .with_text(t::Subject, "New")
            .with_text(t::Complete, "1");
        let sent = eas_task::from_application_data(&change, rules(Version::V14_1)).unwrap();
        let m = eas_task::merge_change(
            &existing,
            &sent,
            Some(&[t::Subject, t::Importance]),
            Version::V14_1,
        );
        assert_eq!(
            (m.subject.as_deref(), m.complete, m.importance),
            (Some("New"), Some(true), None)
        );
        assert_eq!(m.body.as_deref(), Some("keep me"));
        let m = eas_task::merge_change(&existing, &sent, None, Version::V14_1);
        assert_eq!(m.body, None);
        let note = horde_activesync::model::Note {
            subject: Some("S".into()),
            body: Some("B".into()),
            ..Default::default()
        };
        let sent = horde_activesync::model::Note {
            subject: Some("S2".into()),
            ..Default::default()
        };
        assert_eq!(
            eas_note::merge_change(&note, &sent, Some(&[n::Subject]), Version::V16_1)
                .body
                .as_deref(),
            Some("B")
        );
        assert_eq!(
            eas_note::merge_change(&note, &sent, None, Version::V16_1).body,
            None
        );
    }

    #[test]
    fn version_16_changes_and_deletes_single_occurrences_by_instance_id() {
        let mut series = weekly_series();
        series.exceptions = None;
        eas_calendar::delete_occurrence(&mut series, "20261203T090000Z").unwrap();
        let moved = Element::new(airsync::ApplicationData)
            .with_text(cal::Subject, "Standup (moved)")
            .with_text(cal::StartTime, "20261208T130000Z")
            .with_text(cal::EndTime, "20261208T133000Z");
        eas_calendar::change_occurrence(
            &mut series,
            "20261208T090000Z",
            &moved,
            rules(Version::V16_1),
        )
        .unwrap();
        assert_eq!(series.exceptions, weekly_series().exceptions);
        // Changing it again replaces the exception rather than adding one.
        eas_calendar::change_occurrence(
            &mut series,
            "20261208T090000Z",
            &moved,
            rules(Version::V16_1),
        )
        .unwrap();
        assert_eq!(series.exceptions.as_ref().map(Vec::len), Some(2));
        assert!(eas_calendar::delete_occurrence(&mut series, "next week").is_err());
    }

    #[test]
    fn the_class_dispatcher_reaches_calendar_tasks_and_notes() {
        use horde_activesync::convert::eas as dispatch;
        use horde_activesync::model::{Class, Item};
        let sent = weekly_device_series(Version::V14_1);
        let item = dispatch::from_app_data(Class::Calendar, &sent, Version::V14_1).unwrap();
        assert!(matches!(&item, Item::Event(e) if e.exceptions.as_ref().map(Vec::len) == Some(2)));
        assert_contains(&dispatch::to_app_data(&item, Version::V14_1, &[]), &sent);
        let task =
            dispatch::from_app_data(Class::Tasks, &device_task(Version::V14_1), Version::V14_1)
                .unwrap();
        assert!(matches!(&task, Item::Task(t) if t.complete == Some(true)));
        let note = Element::new(airsync::ApplicationData).with_text(n::Subject, "N");
        let note = dispatch::from_app_data(Class::Notes, &note, Version::V14_1).unwrap();
        assert_eq!(
            dispatch::to_app_data(&note, Version::V14_1, &[]).text_of(n::Subject),
            Some("N")
        );
        // A refused recurrence is a conversion error, not a stored item.
        let bad = Element::new(airsync::ApplicationData)
            .with(Element::new(cal::Recurrence).with_text(cal::Type, "4"));
        assert!(dispatch::from_app_data(Class::Calendar, &bad, Version::V14_1).is_err());
        // Ghosting goes through the calendar's own rules.
        let change = Element::new(airsync::ApplicationData).with_text(cal::Subject, "Only this");
        let sent = dispatch::from_app_data(Class::Calendar, &change, Version::V14_1).unwrap();
        let merged = dispatch::apply_change(
            &item,
            sent,
            Some(&["Calendar:Subject".to_string()]),
            Version::V14_1,
        );
        assert!(
            matches!(&merged, Item::Event(e) if e.subject.as_deref() == Some("Only this") && e.recurrence.is_some())
        );
    }

    fn arbitrary_element() -> impl Strategy<Value = Element> {
        let tags = prop::sample::select(
            horde_activesync::wbxml::codepages::all_tags()
                .filter(|t| [4u8, 9, 17, 23].contains(&t.page()))
                .collect::<Vec<_>>(),
        );
        let leaf =
            (tags.clone(), "\\PC{0,24}").prop_map(|(tag, text)| Element::text_element(tag, text));
        leaf.prop_recursive(3, 24, 6, move |inner| {
            (tags.clone(), prop::collection::vec(inner, 0..6)).prop_map(|(tag, children)| Element {
                tag,
                children: children.into_iter().map(Node::Element).collect(),
            })
        })
    }

    proptest! {
        #[test]
        fn arbitrary_application_data_never_panics(children in prop::collection::vec(arbitrary_element(), 0..12)) {
            let app = Element { tag: airsync::ApplicationData, children: children.into_iter().map(Node::Element).collect() };
            for v in [Version::V2_5, Version::V14_1, Version::V16_1] {
                if let Ok(e) = eas_calendar::from_application_data(&app, rules(v)) {
                    let _ = eas_calendar::to_application_data(&e, &opts(v));
                    let _ = parse_event(&write_event(&e, "p"));
                }
                if let Ok(task) = eas_task::from_application_data(&app, rules(v)) {
                    let _ = parse_task(&write_task(&task, "p"));
                }
                let _ = eas_note::from_application_data(&app, rules(v));
            }
        }
    }
}
