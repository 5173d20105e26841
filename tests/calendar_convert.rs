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
                ..Attendee::default()
            },
            Attendee {
                email: Some("room@example.test".into()),
                name: Some("Room".into()),
                attendee_type: Some(AttendeeType::Resource),
                status: Some(ResponseStatus::NotResponded),
                ..Attendee::default()
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
    assert_eq!(parse_task(&text).unwrap(), task);
    // Completed in Horde (Nag's export) reads as complete.
    let nag = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:n1\r\nSUMMARY:Task one (edited)\r\nPRIORITY:5\r\n\
        DUE:20261205T170000Z\r\nSTATUS:COMPLETED\r\nCOMPLETED:20261126T221202Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    let t = parse_task(nag).unwrap();
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
