//! Calendar, tasks and notes end to end, the same scenarios on both
//! backends: the embedded store behind `serve`, and Horde (Kronolith, Nag,
//! Mnemo) behind the binary as CGI under real lighttpd. Each test creates
//! its own folder with FolderCreate and deletes it at the end.

mod support;

use horde_activesync::convert::timezone::TimeZoneInfo;
use horde_activesync::wbxml::codepages::{
    airsync as a, airsyncbase as asb, calendar as cal, folderhierarchy as fh, notes as n,
    tasks as t,
};
use horde_activesync::wbxml::Element;
use support::device::{commands, Phone};
use support::horde::{horde_config, unique};
use support::serve::Served;
use support::web::{Variant, WebServer};

/// A running server with a user: the embedded store or Horde.
enum World {
    Embedded(Served),
    /// The server and its config folder (kept alive with it).
    Horde(WebServer, #[allow(dead_code)] tempfile::TempDir),
}

impl World {
    fn embedded() -> World {
        World::Embedded(Served::start(
            "[provisioning]\nmode = \"none\"\n",
            &[("alice", "alicepass")],
        ))
    }

    fn horde() -> World {
        let dir = horde_config("[log]\nlevel = \"warn\"\n");
        World::Horde(
            WebServer::start(Variant::LighttpdCgi, &dir.path().join("activesync.toml")),
            dir,
        )
    }

    fn url(&self) -> &str {
        match self {
            World::Embedded(s) => &s.url,
            World::Horde(w, _) => &w.base_url,
        }
    }

    fn phone(&self, id: &str) -> Phone {
        self.phone_at(id, "14.1")
    }

    fn phone_at(&self, id: &str, version: &str) -> Phone {
        let mut p = Phone::new(self.url(), "alice", "alicepass", id, version);
        p.folder_sync();
        p
    }
}

/// FolderCreate a folder of `folder_type` on `phone`; both phones start syncing it.
fn new_folder(one: &mut Phone, two: &mut Phone, folder_type: u32) -> String {
    let name = unique("Test");
    let id = one.create_folder(&name, folder_type);
    two.folder_sync();
    assert_eq!(
        two.folders.get(&id).map(|f| f.0.as_str()),
        Some(name.as_str())
    );
    assert!(commands(&one.start(&id, None)).is_empty());
    assert!(commands(&two.start(&id, None)).is_empty());
    id
}

fn delete_folder(phone: &mut Phone, id: &str) {
    phone.folder_sync();
    let req = Element::new(fh::FolderDelete)
        .with_text(fh::SyncKey, phone.hierarchy_key.clone())
        .with_text(fh::ServerId, id);
    let r = phone.client.post("FolderDelete", Some(&req)).body.unwrap();
    assert_eq!(r.text_of(fh::Status), Some("1"));
}

fn add(client_id: &str, data: Element) -> Element {
    Element::new(a::Add)
        .with_text(a::ClientId, client_id)
        .with(data)
}

/// The single Add a phone receives; its ServerId and ApplicationData.
fn single_add(coll: &Element) -> (String, Element) {
    let cmds = coll.child(a::Commands).unwrap_or_else(|| {
        panic!(
            "no commands: {}",
            horde_activesync::wbxml::xml::to_xml(coll)
        )
    });
    let adds: Vec<&Element> = cmds.children_with(a::Add).collect();
    assert_eq!(
        adds.len(),
        1,
        "{}",
        horde_activesync::wbxml::xml::to_xml(coll)
    );
    (
        adds[0].text_of(a::ServerId).unwrap().to_string(),
        adds[0].child(a::ApplicationData).unwrap().clone(),
    )
}

fn berlin() -> String {
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-07T09:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    TimeZoneInfo::for_zone(chrono_tz::Europe::Berlin, at).to_base64()
}

/// A time of an event in the event's own zone (its Timezone element).
fn local_day(event: &Element, tag: horde_activesync::wbxml::Tag) -> String {
    let tz = TimeZoneInfo::from_base64(event.text_of(cal::Timezone).expect("Timezone")).unwrap();
    let utc = chrono::NaiveDateTime::parse_from_str(event.text_of(tag).unwrap(), "%Y%m%dT%H%M%SZ")
        .unwrap();
    let local = utc + chrono::Duration::minutes(i64::from(tz.offset_at(utc)));
    local.format("%Y-%m-%dT%H:%M").to_string()
}

fn weekly_event(uid: &str) -> Element {
    Element::new(a::ApplicationData)
        .with_text(cal::Timezone, berlin())
        .with_text(cal::AllDayEvent, "0")
        .with_text(cal::BusyStatus, "2")
        .with_text(cal::DtStamp, "20261201T080000Z")
        .with_text(cal::EndTime, "20261207T100000Z")
        .with(
            Element::new(cal::Exceptions)
                .with(
                    Element::new(cal::Exception)
                        .with_text(cal::Deleted, "1")
                        .with_text(cal::ExceptionStartTime, "20261214T090000Z"),
                )
                .with(
                    Element::new(cal::Exception)
                        .with_text(cal::Subject, "Moved sync")
                        .with_text(cal::StartTime, "20261221T130000Z")
                        .with_text(cal::EndTime, "20261221T140000Z")
                        .with_text(cal::ExceptionStartTime, "20261221T090000Z"),
                ),
        )
        .with_text(cal::Location, "Room 1")
        .with(
            Element::new(cal::Recurrence)
                .with_text(cal::Type, "1")
                .with_text(cal::Interval, "1")
                .with_text(cal::DayOfWeek, "2")
                .with_text(cal::Occurrences, "10"),
        )
        .with_text(cal::Sensitivity, "0")
        .with_text(cal::Subject, "Weekly sync")
        .with_text(cal::StartTime, "20261207T090000Z")
        .with_text(cal::UID, uid)
}

fn calendar_round_trip(world: &World) {
    let (mut one, mut two) = (world.phone("CAL1"), world.phone("CAL2"));
    let folder = new_folder(&mut one, &mut two, 13);
    let uid = unique("weekly");
    let r = one.sync(&folder, None, vec![add("e1", weekly_event(&uid))]);
    assert_eq!(
        r.path(&[a::Responses, a::Add])
            .and_then(|e| e.text_of(a::Status)),
        Some("1")
    );

    let (_, got) = single_add(&two.sync(&folder, None, vec![]));
    assert_eq!(got.text_of(cal::Subject), Some("Weekly sync"));
    assert_eq!(got.text_of(cal::StartTime), Some("20261207T090000Z"));
    assert_eq!(got.text_of(cal::EndTime), Some("20261207T100000Z"));
    assert_eq!(got.text_of(cal::UID), Some(uid.as_str()));
    let rec = got.child(cal::Recurrence).expect("recurrence");
    assert_eq!(
        (
            rec.u32_of(cal::Type),
            rec.u32_of(cal::DayOfWeek),
            rec.u32_of(cal::Occurrences)
        ),
        (Some(1), Some(2), Some(10))
    );
    let exceptions: Vec<&Element> = got
        .child(cal::Exceptions)
        .expect("exceptions")
        .children_with(cal::Exception)
        .collect();
    assert_eq!(
        exceptions.len(),
        2,
        "{}",
        horde_activesync::wbxml::xml::to_xml(&got)
    );
    let deleted = exceptions
        .iter()
        .find(|e| e.text_of(cal::Deleted) == Some("1"))
        .expect("deleted occurrence");
    assert_eq!(
        deleted.text_of(cal::ExceptionStartTime),
        Some("20261214T090000Z")
    );
    let moved = exceptions
        .iter()
        .find(|e| e.text_of(cal::Subject) == Some("Moved sync"))
        .expect("moved occurrence");
    assert_eq!(
        moved.text_of(cal::ExceptionStartTime),
        Some("20261221T090000Z")
    );
    assert_eq!(moved.text_of(cal::StartTime), Some("20261221T130000Z"));

    // A 16.1 phone deletes one occurrence by InstanceId: the series gets a
    // deleted exception, it is not deleted as a whole.
    let mut three = world.phone_at("CAL3", "16.1");
    let (series, _) = single_add(&three.start(&folder, None));
    let delete = Element::new(a::Delete)
        .with_text(a::ServerId, series.clone())
        .with_text(asb::InstanceId, "2026-12-28T09:00:00.000Z");
    let r = three.sync(&folder, None, vec![delete]);
    assert!(
        !r.has(a::Responses),
        "{}",
        horde_activesync::wbxml::xml::to_xml(&r)
    );
    let r = two.sync(&folder, None, vec![]);
    let changed = r
        .path(&[a::Commands, a::Change])
        .unwrap_or_else(|| panic!("{}", horde_activesync::wbxml::xml::to_xml(&r)));
    assert_eq!(changed.text_of(a::ServerId), Some(series.as_str()));
    let exceptions = changed
        .path(&[a::ApplicationData, cal::Exceptions])
        .expect("exceptions");
    assert!(
        exceptions
            .children_with(cal::Exception)
            .any(|e| e.text_of(cal::Deleted) == Some("1")
                && e.text_of(cal::ExceptionStartTime) == Some("20261228T090000Z")),
        "{}",
        horde_activesync::wbxml::xml::to_xml(changed)
    );
    assert_eq!(exceptions.children_with(cal::Exception).count(), 3);

    // An all-day event (Berlin) stays on its day.
    let all_day = Element::new(a::ApplicationData)
        .with_text(cal::Timezone, berlin())
        .with_text(cal::AllDayEvent, "1")
        .with_text(cal::StartTime, "20261223T230000Z")
        .with_text(cal::EndTime, "20261224T230000Z")
        .with_text(cal::Subject, "Christmas Eve")
        .with_text(cal::UID, unique("xmas"));
    one.sync(&folder, None, vec![add("e2", all_day)]);
    let (_, got) = single_add(&two.sync(&folder, None, vec![]));
    assert_eq!(got.text_of(cal::AllDayEvent), Some("1"));
    // Midnight to midnight of Dec 24 in the zone the event comes back with
    // (Kronolith keeps no zone for all-day events: then it is UTC).
    assert_eq!(local_day(&got, cal::StartTime), "2026-12-24T00:00");
    assert_eq!(local_day(&got, cal::EndTime), "2026-12-25T00:00");
    delete_folder(&mut one, &folder);
}

fn tasks_round_trip(world: &World) {
    let (mut one, mut two) = (world.phone("TASK1"), world.phone("TASK2"));
    let folder = new_folder(&mut one, &mut two, 15);
    let task = |complete: &str| {
        let mut d = Element::new(a::ApplicationData)
            .with_text(t::Subject, "Buy milk")
            .with_text(t::Importance, "2")
            .with_text(t::UtcDueDate, "2026-12-05T17:00:00.000Z")
            .with_text(t::DueDate, "2026-12-05T18:00:00.000Z")
            .with_text(t::Complete, complete);
        if complete == "1" {
            d.push_text(t::DateCompleted, "2026-12-04T10:00:00.000Z");
        }
        d
    };
    one.sync(&folder, None, vec![add("t1", task("0"))]);
    let (id, got) = single_add(&two.sync(&folder, None, vec![]));
    assert_eq!(got.text_of(t::Subject), Some("Buy milk"));
    assert_eq!(got.text_of(t::Complete), Some("0"));
    assert_eq!(got.text_of(t::UtcDueDate), Some("2026-12-05T17:00:00.000Z"));
    assert_eq!(got.text_of(t::Importance), Some("2"));

    // Completed on phone two: phone one sees it complete.
    let change = Element::new(a::Change)
        .with_text(a::ServerId, id.clone())
        .with(task("1"));
    two.sync(&folder, None, vec![change]);
    let r = one.sync(&folder, None, vec![]);
    let changed = r
        .path(&[a::Commands, a::Change])
        .unwrap_or_else(|| panic!("{}", horde_activesync::wbxml::xml::to_xml(&r)));
    assert_eq!(changed.text_of(a::ServerId), Some(id.as_str()));
    assert_eq!(
        changed
            .path(&[a::ApplicationData])
            .unwrap()
            .text_of(t::Complete),
        Some("1")
    );
    delete_folder(&mut one, &folder);
}

fn notes_round_trip(world: &World) {
    let (mut one, mut two) = (world.phone("NOTE1"), world.phone("NOTE2"));
    let folder = new_folder(&mut one, &mut two, 17);
    let note = Element::new(a::ApplicationData)
        .with_text(n::Subject, "Groceries")
        .with(
            Element::new(asb::Body)
                .with_text(asb::Type, "1")
                .with_text(asb::Data, "Groceries\neggs\nmilk"),
        )
        .with_text(n::MessageClass, "IPM.StickyNote");
    one.sync(&folder, None, vec![add("n1", note)]);
    let (_, got) = single_add(&two.sync(&folder, None, vec![]));
    let body = got
        .path(&[asb::Body])
        .and_then(|b| b.text_of(asb::Data))
        .unwrap_or_default()
        .to_string();
    assert!(body.contains("eggs") && body.contains("milk"), "{body:?}");
    assert_eq!(got.text_of(n::Subject), Some("Groceries"));
    delete_folder(&mut one, &folder);
}

#[test]
fn calendar_on_the_embedded_store() {
    calendar_round_trip(&World::embedded());
}

#[test]
fn calendar_through_horde() {
    calendar_round_trip(&World::horde());
}

#[test]
fn tasks_on_the_embedded_store() {
    tasks_round_trip(&World::embedded());
}

#[test]
fn tasks_through_horde() {
    tasks_round_trip(&World::horde());
}

#[test]
fn notes_on_the_embedded_store() {
    notes_round_trip(&World::embedded());
}

#[test]
fn notes_through_horde() {
    notes_round_trip(&World::horde());
}

/// An event `days` from now (one hour, UTC), as a phone adds it.
fn event_in(days: i64, subject: &str) -> Element {
    let start = chrono::Utc::now() + chrono::Duration::days(days);
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y%m%dT%H0000Z").to_string();
    Element::new(a::ApplicationData)
        .with_text(cal::AllDayEvent, "0")
        .with_text(cal::StartTime, fmt(start))
        .with_text(cal::EndTime, fmt(start + chrono::Duration::hours(1)))
        .with_text(cal::Subject, subject)
        .with_text(cal::UID, unique(subject))
}

fn subjects(coll: &Element) -> Vec<String> {
    let mut v: Vec<String> = coll
        .child(a::Commands)
        .map(|c| {
            c.elements()
                .filter_map(|e| {
                    e.path(&[a::ApplicationData])
                        .and_then(|d| d.text_of(cal::Subject))
                })
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn filter_windows(world: &World) {
    let (mut one, mut two) = (world.phone("FILTER1"), world.phone("FILTER2"));
    let folder = new_folder(&mut one, &mut two, 13);
    one.sync(
        &folder,
        None,
        vec![
            add("old", event_in(-20, "Old")),
            add("soon", event_in(1, "Soon")),
            add("week", event_in(-3, "Recent")),
        ],
    );
    // One week back: only the recent and the coming event.
    let mut three = world.phone("FILTER3");
    three.filters.insert(folder.clone(), 3);
    three.sync(&folder, None, vec![]);
    let r = three.sync(&folder, None, vec![]);
    assert_eq!(subjects(&r), vec!["Recent", "Soon"]);
    // All: the old event is added, nothing twice.
    three.filters.insert(folder.clone(), 0);
    let r = three.sync(&folder, None, vec![]);
    assert_eq!(
        subjects(&r),
        vec!["Old"],
        "{}",
        horde_activesync::wbxml::xml::to_xml(&r)
    );
    // Back to one day: what left the window is soft-deleted.
    three.filters.insert(folder.clone(), 1);
    let r = three.sync(&folder, None, vec![]);
    let mut gone: Vec<String> = commands(&r).into_iter().map(|(op, _)| op).collect();
    gone.sort();
    assert_eq!(
        gone,
        vec!["SoftDelete", "SoftDelete"],
        "{}",
        horde_activesync::wbxml::xml::to_xml(&r)
    );
    delete_folder(&mut one, &folder);
}

#[test]
fn calendar_filter_windows_on_the_embedded_store() {
    filter_windows(&World::embedded());
}

#[test]
fn calendar_filter_windows_through_horde() {
    filter_windows(&World::horde());
}
