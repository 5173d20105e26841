//! EAS TimeZone blobs <-> IANA zones <-> VTIMEZONE.
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use horde_activesync::convert::contentline::Component;
use horde_activesync::convert::timezone::{
    offset_minutes, vtimezone, zone_for, zone_of_vtimezone, Match, SystemTime, TimeZoneError,
    TimeZoneInfo,
};
use proptest::prelude::*;

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

fn tz(name: &str) -> Tz {
    name.parse().unwrap()
}

fn rule(month: u16, week: u16, hour: u16) -> SystemTime {
    SystemTime {
        month,
        day: week,
        hour,
        ..SystemTime::default()
    }
}

/// The blob's offset equals the zone's at every 6 hours of the year.
fn assert_follows_zone(zone: Tz, year: i32) {
    let tzi = TimeZoneInfo::for_zone(zone, at(year, 7, 1));
    let mut t = at(year, 1, 1).naive_utc();
    let end = at(year, 12, 31).naive_utc();
    while t < end {
        assert_eq!(tzi.offset_at(t), offset_minutes(zone, t), "{zone} at {t}");
        t += Duration::hours(6);
    }
}

#[test]
fn berlin_blob_has_the_windows_rules() {
    let tzi = TimeZoneInfo::for_zone(tz("Europe/Berlin"), at(2026, 11, 27));
    assert_eq!(tzi.bias, -60);
    assert_eq!(tzi.daylight_bias, -60);
    assert_eq!(tzi.standard_bias, 0);
    assert_eq!(tzi.standard_name, "W. Europe Standard Time");
    assert_eq!(tzi.daylight_date, rule(3, 5, 2));
    assert_eq!(tzi.standard_date, rule(10, 5, 3));
    let back = TimeZoneInfo::from_base64(&tzi.to_base64()).unwrap();
    assert_eq!(back, tzi);
    assert_eq!(zone_for(&back, 2026), Match::Exact(tz("Europe/Berlin")));
}

#[test]
fn new_york_rules_differ_before_and_after_2007() {
    let ny = tz("America/New_York");
    let now = TimeZoneInfo::for_zone(ny, at(2026, 3, 1));
    assert_eq!(now.bias, 300);
    assert_eq!(now.daylight_date, rule(3, 2, 2));
    assert_eq!(now.standard_date, rule(11, 1, 2));
    let old = TimeZoneInfo::for_zone(ny, at(2006, 3, 1));
    assert_eq!(old.daylight_date, rule(4, 1, 2));
    assert_eq!(old.standard_date, rule(10, 5, 2));
    assert_eq!(zone_for(&now, 2026), Match::Exact(ny));
    for year in [1995, 2006, 2007, 2026, 2040] {
        assert_follows_zone(ny, year);
    }
}

#[test]
fn sydney_is_daylight_over_new_year() {
    let syd = tz("Australia/Sydney");
    let tzi = TimeZoneInfo::for_zone(syd, at(2026, 6, 1));
    assert_eq!(tzi.bias, -600);
    assert_eq!(tzi.daylight_date, rule(10, 1, 2));
    assert_eq!(tzi.standard_date, rule(4, 1, 3));
    assert_eq!(tzi.offset_at(at(2026, 1, 10).naive_utc()), 660);
    assert_eq!(tzi.offset_at(at(2026, 7, 10).naive_utc()), 600);
    assert_eq!(zone_for(&tzi, 2026), Match::Exact(syd));
    for year in [2000, 2008, 2026, 2038] {
        assert_follows_zone(syd, year);
    }
}

#[test]
fn kolkata_has_half_hour_offset_and_no_dst() {
    let tzi = TimeZoneInfo::for_zone(tz("Asia/Kolkata"), at(2026, 1, 1));
    assert_eq!(tzi.bias, -330);
    assert!(!tzi.has_dst());
    assert_eq!(tzi.daylight_date.month, 0);
    assert_eq!(zone_for(&tzi, 2026), Match::Exact(tz("Asia/Kolkata")));
    // A device blob with no name at all still finds Kolkata first.
    let anonymous = TimeZoneInfo {
        bias: -330,
        ..TimeZoneInfo::default()
    };
    assert_eq!(zone_for(&anonymous, 2026), Match::Exact(tz("Asia/Kolkata")));
}

#[test]
fn utc_is_all_zero() {
    let tzi = TimeZoneInfo::for_zone(Tz::UTC, at(2026, 1, 1));
    assert_eq!(tzi.bias, 0);
    assert!(!tzi.has_dst());
    assert_eq!(zone_for(&tzi, 2026), Match::Exact(Tz::UTC));
    assert_eq!(
        zone_for(&TimeZoneInfo::default(), 2026),
        Match::Exact(Tz::UTC)
    );
}

#[test]
fn moscow_rules_changed_in_2011_and_2014() {
    let msk = tz("Europe/Moscow");
    let y2010 = TimeZoneInfo::for_zone(msk, at(2010, 7, 1));
    assert!(y2010.has_dst());
    assert_eq!(y2010.bias, -180);
    let y2013 = TimeZoneInfo::for_zone(msk, at(2013, 7, 1));
    assert!(!y2013.has_dst());
    assert_eq!(y2013.bias, -240);
    let y2020 = TimeZoneInfo::for_zone(msk, at(2020, 7, 1));
    assert_eq!(y2020.bias, -180);
    // The Windows name picks Moscow among the +04:00 zones of 2013.
    assert_eq!(zone_for(&y2013, 2013), Match::Exact(msk));
    assert_eq!(zone_for(&y2020, 2020), Match::Exact(msk));
    // The year of the switch has one transition only: the offset at the instant asked for.
    assert_eq!(TimeZoneInfo::for_zone(msk, at(2011, 1, 10)).bias, -180);
    assert_eq!(TimeZoneInfo::for_zone(msk, at(2011, 10, 10)).bias, -240);
    assert_follows_zone(msk, 2010);
}

#[test]
fn sao_paulo_abolished_dst_in_2019() {
    let sp = tz("America/Sao_Paulo");
    let y2018 = TimeZoneInfo::for_zone(sp, at(2018, 7, 1));
    assert!(y2018.has_dst());
    assert_eq!(y2018.daylight_date.month, 11);
    assert_follows_zone(sp, 2018);
    let y2020 = TimeZoneInfo::for_zone(sp, at(2020, 7, 1));
    assert!(!y2020.has_dst());
    assert_eq!(y2020.bias, 180);
    assert_eq!(zone_for(&y2020, 2020), Match::Exact(sp));
}

#[test]
fn berlin_follows_the_zone_past_and_future() {
    for year in [1985, 1996, 2026, 2050] {
        assert_follows_zone(tz("Europe/Berlin"), year);
    }
}

#[test]
fn local_times_convert_with_the_blob_rules() {
    let tzi = TimeZoneInfo::for_zone(tz("Europe/Berlin"), at(2026, 1, 1));
    let summer = NaiveDate::from_ymd_opt(2026, 7, 1)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap();
    assert_eq!(tzi.local_to_utc(summer), summer - Duration::hours(2));
    let winter = NaiveDate::from_ymd_opt(2026, 12, 1)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap();
    assert_eq!(tzi.local_to_utc(winter), winter - Duration::hours(1));
}

#[test]
fn unknown_name_with_known_rules_prefers_the_common_zone() {
    let mut tzi = TimeZoneInfo::for_zone(tz("Europe/Paris"), at(2026, 1, 1));
    tzi.standard_name = "Mitteleuropäische Zeit".into();
    tzi.daylight_name = String::new();
    // Same rules as Berlin, which comes first among the common zones.
    assert_eq!(zone_for(&tzi, 2026), Match::Exact(tz("Europe/Berlin")));
}

#[test]
fn rare_zones_match_their_geographic_name() {
    let chatham = tz("Pacific/Chatham");
    let mut tzi = TimeZoneInfo::for_zone(chatham, at(2026, 6, 1));
    tzi.standard_name = "Chatham Islands Standard Time".into();
    assert_eq!(tzi.bias, -(12 * 60 + 45));
    // Not the legacy alias NZ-CHAT, which has the same rules.
    assert_eq!(zone_for(&tzi, 2026), Match::Exact(chatham));
}

#[test]
fn rules_no_zone_has_are_approximated_by_offset() {
    let tzi = TimeZoneInfo {
        bias: -60,
        standard_date: rule(2, 1, 2),
        daylight_date: rule(1, 1, 2),
        daylight_bias: -60,
        ..TimeZoneInfo::default()
    };
    let m = zone_for(&tzi, 2026);
    assert!(matches!(m, Match::Approximate(_)), "{m:?}");
    assert_eq!(offset_minutes(m.zone(), at(2026, 12, 1).naive_utc()), 60);
    let fixed = TimeZoneInfo {
        bias: -13 * 60 + 1,
        ..TimeZoneInfo::default()
    };
    assert!(matches!(zone_for(&fixed, 2026), Match::Approximate(_)));
}

#[test]
fn vtimezone_round_trips_through_text() {
    for name in [
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
        "Asia/Kolkata",
        "UTC",
    ] {
        let vtz = vtimezone(tz(name), at(2026, 5, 1));
        let text = vtz.to_text();
        let parsed = &Component::parse_all(&text).unwrap()[0];
        assert_eq!(
            zone_of_vtimezone(parsed, 2026),
            Some(Match::Exact(tz(name))),
            "{text}"
        );
    }
}

#[test]
fn vtimezone_with_a_custom_tzid_is_matched_by_rules() {
    let text = "BEGIN:VTIMEZONE\r\nTZID:Eastern Time (custom)\r\n\
        BEGIN:STANDARD\r\nDTSTART:20071104T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n\
        TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\n\
        BEGIN:DAYLIGHT\r\nDTSTART:20070311T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\n\
        TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";
    let vtz = &Component::parse_all(text).unwrap()[0];
    assert_eq!(
        zone_of_vtimezone(vtz, 2026),
        Some(Match::Exact(tz("America/New_York")))
    );
    let mozilla =
        "BEGIN:VTIMEZONE\r\nTZID:/mozilla.org/20050126_1/Europe/Berlin\r\nEND:VTIMEZONE\r\n";
    let vtz = &Component::parse_all(mozilla).unwrap()[0];
    assert_eq!(
        zone_of_vtimezone(vtz, 2026),
        Some(Match::Exact(tz("Europe/Berlin")))
    );
}

#[test]
fn malformed_blobs_are_errors() {
    assert_eq!(
        TimeZoneInfo::from_base64("not base64!"),
        Err(TimeZoneError::Base64)
    );
    assert_eq!(
        TimeZoneInfo::from_bytes(&[0; 10]),
        Err(TimeZoneError::Length(10))
    );
    let bad = TimeZoneInfo {
        standard_date: rule(13, 1, 0),
        ..TimeZoneInfo::default()
    };
    assert!(matches!(
        TimeZoneInfo::from_bytes(&bad.to_bytes()),
        Err(TimeZoneError::Rule(_))
    ));
}

proptest! {
    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 172)) {
        if let Ok(tzi) = TimeZoneInfo::from_bytes(&bytes) {
            let t = at(2026, 3, 29).naive_utc();
            let _ = tzi.offset_at(t);
            let _ = tzi.local_to_utc(t);
            prop_assert_eq!(TimeZoneInfo::from_bytes(&tzi.to_bytes()).map(|b| b.bias), Ok(tzi.bias));
        }
    }

    #[test]
    fn any_text_never_panics(text in ".{0,300}") {
        let _ = TimeZoneInfo::from_base64(&text);
    }
}
