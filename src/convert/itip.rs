//! iTIP (RFC 5546) carried by mail (iMIP, RFC 6047), for MeetingResponse:
//! finding the meeting request in an invitation message, recording the
//! attendee's answer on the event, and writing the answer the organizer
//! receives — a `METHOD:REPLY`, or a `METHOD:COUNTER` when the attendee
//! proposes another time (RFC 5546 3.2.3 and 3.2.7).

use super::contentline::{Component, ContentLine};
use super::timezone;
use crate::model::event::{Attendee, AttendeeType, BusyStatus, Event, ResponseStatus, When};
use base64::Engine;
use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders};

const UTC_FORMAT: &str = "%Y%m%dT%H%M%SZ";
const PRODID: &str = "-//horde-activesync//NONSGML horde-activesync//EN";

/// The attendee's answer (MeetingResponse UserResponse, MS-ASCMD 2.2.3.194).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accepted,
    Tentative,
    Declined,
}

impl Answer {
    /// UserResponse 1 accepted, 2 tentatively accepted, 3 declined.
    pub fn from_user_response(code: u32) -> Option<Answer> {
        match code {
            1 => Some(Answer::Accepted),
            2 => Some(Answer::Tentative),
            3 => Some(Answer::Declined),
            _ => None,
        }
    }

    /// The iCalendar PARTSTAT (RFC 5545 3.2.12).
    pub fn partstat(self) -> &'static str {
        match self {
            Answer::Accepted => "ACCEPTED",
            Answer::Tentative => "TENTATIVE",
            Answer::Declined => "DECLINED",
        }
    }

    /// The MS-ASCAL ResponseType / AttendeeStatus.
    pub fn status(self) -> ResponseStatus {
        match self {
            Answer::Accepted => ResponseStatus::Accepted,
            Answer::Tentative => ResponseStatus::Tentative,
            Answer::Declined => ResponseStatus::Declined,
        }
    }

    /// The subject prefix mail clients use for answers.
    fn subject_prefix(self) -> &'static str {
        match self {
            Answer::Accepted => "Accepted",
            Answer::Tentative => "Tentative",
            Answer::Declined => "Declined",
        }
    }
}

/// The iCalendar text of the meeting request a message carries: its first
/// `text/calendar` (or `application/ics`) part whose METHOD is REQUEST.
/// `None` for any other message (a plain mail, a CANCEL, a REPLY).
pub fn request_in_message(raw: &[u8]) -> Option<String> {
    let msg = MessageParser::default().parse(raw)?;
    msg.parts
        .iter()
        .filter(|p| {
            p.is_content_type("text", "calendar") || p.is_content_type("application", "ics")
        })
        .map(|p| String::from_utf8_lossy(p.contents()).into_owned())
        .find(|text| method_of(text).is_some_and(|m| m.eq_ignore_ascii_case("REQUEST")))
}

/// The METHOD of a VCALENDAR text.
fn method_of(text: &str) -> Option<String> {
    let roots = Component::parse_all(text).ok()?;
    let cal = roots.iter().find(|c| c.name == "VCALENDAR")?;
    Some(cal.property("METHOD")?.value.trim().to_string())
}

/// The SEQUENCE of the request's first VEVENT (RFC 5546 2.1.4: a REPLY
/// carries the sequence it answers).
pub fn sequence_of(text: &str) -> Option<u32> {
    let roots = Component::parse_all(text).ok()?;
    let cal = roots.iter().find(|c| c.name == "VCALENDAR")?;
    let event = cal.components_named("VEVENT").next()?;
    event.property("SEQUENCE")?.value.trim().parse().ok()
}

/// When a request is about one occurrence of a series only (every VEVENT
/// has a RECURRENCE-ID, RFC 5546 3.2.2.1): that occurrence's original start.
/// `Ok(None)` for a whole meeting; an error for a RECURRENCE-ID whose zone
/// or value cannot be read (answering it as a whole meeting could replace
/// the series).
pub fn occurrence_of(text: &str) -> anyhow::Result<Option<When>> {
    let roots = Component::parse_all(text)?;
    let Some(cal) = roots.iter().find(|c| c.name == "VCALENDAR") else {
        return Ok(None);
    };
    let mut ids = cal
        .components_named("VEVENT")
        .map(|v| v.property("RECURRENCE-ID"));
    let Some(Some(first)) = ids.next() else {
        return Ok(None);
    };
    if ids.any(|id| id.is_none()) {
        return Ok(None);
    }
    let value = first.value.trim();
    if first
        .param_value("VALUE")
        .is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
        || value.len() == 8
    {
        let day = chrono::NaiveDate::parse_from_str(value, "%Y%m%d")?;
        return Ok(Some(When::Day(day)));
    }
    let local =
        chrono::NaiveDateTime::parse_from_str(value.trim_end_matches('Z'), "%Y%m%dT%H%M%S")?;
    let zone = match first.param_value("TZID") {
        _ if value.ends_with('Z') => chrono_tz::Tz::UTC,
        None => chrono_tz::Tz::UTC,
        Some(tzid) => timezone::parse_iana(tzid)
            .or_else(|| timezone::windows_zone(tzid))
            .ok_or_else(|| anyhow::anyhow!("RECURRENCE-ID zone {tzid:?}"))?,
    };
    Ok(Some(When::At(timezone::from_local(zone, local))))
}

/// Record `address`'s answer on the event as the attendee's own copy keeps
/// it (MS-OXOCAL 3.1.4.8): their ATTENDEE status, ResponseType, the reply
/// time, MeetingStatus "received", and the busy status the answer implies.
/// An attendee missing from the list (invited through a mailing list) is
/// added.
pub fn record_answer(event: &mut Event, address: &str, answer: Answer, now: DateTime<Utc>) {
    let attendees = event.attendees.get_or_insert_with(Vec::new);
    let same = |a: &Attendee| {
        a.email
            .as_deref()
            .is_some_and(|e| e.trim().eq_ignore_ascii_case(address))
    };
    match attendees.iter_mut().find(|a| same(a)) {
        Some(a) => a.status = Some(answer.status()),
        None => attendees.push(Attendee {
            email: Some(address.to_string()),
            name: None,
            attendee_type: Some(AttendeeType::Required),
            status: Some(answer.status()),
        }),
    }
    event.response_type = Some(answer.status());
    event.appointment_reply_time = Some(now);
    // 1|2: a meeting the user received; a cancelled one keeps its bit.
    event.meeting_status = Some(event.meeting_status.unwrap_or(1) | 3);
    event.busy_status = match (answer, event.busy_status) {
        (Answer::Tentative, _) => Some(BusyStatus::Tentative),
        (_, Some(BusyStatus::Tentative) | None) => Some(BusyStatus::Busy),
        (_, kept) => kept,
    };
}

/// Everything the organizer's answer mail says.
pub struct Reply<'a> {
    pub event: &'a Event,
    pub uid: &'a str,
    /// The answering user's address and name.
    pub attendee: &'a str,
    pub attendee_name: Option<&'a str>,
    pub answer: Answer,
    /// The occurrence answered (RECURRENCE-ID); `None` for the whole series.
    pub instance: Option<When>,
    /// The user's note to the organizer (SendResponse's body).
    pub comment: Option<&'a str>,
    /// The note is HTML (AirSyncBase Type 2), not plain text.
    pub comment_is_html: bool,
    /// A new time the attendee proposes (makes the answer a COUNTER).
    pub proposed: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub sequence: Option<u32>,
    pub now: DateTime<Utc>,
}

impl Reply<'_> {
    fn method(&self) -> &'static str {
        if self.proposed.is_some() {
            "COUNTER"
        } else {
            "REPLY"
        }
    }

    /// The VCALENDAR of the answer: one VEVENT with the UID, the organizer,
    /// only the answering attendee and its PARTSTAT (RFC 5546 3.2.3).
    pub fn calendar(&self) -> String {
        let mut cal = Component::new("VCALENDAR");
        cal.push(ContentLine::new("VERSION", "2.0"));
        cal.push(ContentLine::new("PRODID", PRODID));
        cal.push(ContentLine::new("METHOD", self.method()));
        let mut v = Component::new("VEVENT");
        v.push(ContentLine::new("UID", self.uid));
        v.push(ContentLine::new(
            "DTSTAMP",
            self.now.format(UTC_FORMAT).to_string(),
        ));
        if let Some(seq) = self.sequence {
            v.push(ContentLine::new("SEQUENCE", seq.to_string()));
        }
        if let Some(instance) = self.instance {
            v.push(when_line("RECURRENCE-ID", instance));
        }
        let mut organizer = ContentLine::new(
            "ORGANIZER",
            format!(
                "mailto:{}",
                self.event.organizer_email.as_deref().unwrap_or_default()
            ),
        );
        if let Some(name) = &self.event.organizer_name {
            organizer = organizer.param("CN", name.as_str());
        }
        v.push(organizer);
        let mut attendee = ContentLine::new("ATTENDEE", format!("mailto:{}", self.attendee))
            .param("PARTSTAT", self.answer.partstat());
        if let Some(name) = self.attendee_name {
            attendee = attendee.param("CN", name);
        }
        v.push(attendee);
        match self.proposed {
            Some((start, end)) => {
                v.push(when_line("DTSTART", When::At(start)));
                v.push(when_line("DTEND", When::At(end)));
            }
            // The times of the meeting answered; left out for one
            // occurrence, whose RECURRENCE-ID says which (the event may be
            // the whole series).
            None if self.instance.is_some() => {}
            None => {
                if let Some(start) = self.event.start {
                    v.push(when_line("DTSTART", start));
                }
                if let Some(end) = self.event.end {
                    v.push(when_line("DTEND", end));
                }
            }
        }
        if let Some(subject) = &self.event.subject {
            v.push(ContentLine::text("SUMMARY", subject));
        }
        // COMMENT is plain text (RFC 5545 3.8.1.4); an HTML note goes only
        // into the mail.
        if let Some(comment) = self.comment.filter(|c| !c.trim().is_empty()) {
            if !self.comment_is_html {
                v.push(ContentLine::text("COMMENT", comment));
            }
        }
        cal.components.push(v);
        cal.to_text()
    }

    /// The answer as a mail to the organizer: a multipart/alternative with
    /// the user's note (plain or HTML as sent; else a one-line summary) and
    /// the iTIP part
    /// (`text/calendar; method=REPLY`, RFC 6047 2.4). `None` when the event
    /// names no organizer address to send it to.
    pub fn message(&self) -> Option<Vec<u8>> {
        let organizer = self
            .event
            .organizer_email
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty())?;
        let subject = format!(
            "{}: {}",
            self.answer.subject_prefix(),
            self.event.subject.as_deref().unwrap_or_default()
        );
        let (note_type, note) = match self.comment.filter(|c| !c.trim().is_empty()) {
            Some(c) if self.comment_is_html => ("text/html", c.to_string()),
            Some(c) => ("text/plain", c.to_string()),
            None => (
                "text/plain",
                format!(
                    "{} has {}.",
                    self.attendee,
                    self.answer.partstat().to_lowercase()
                ),
            ),
        };
        let boundary = format!(
            "=_itip_{}",
            self.now.timestamp_nanos_opt().unwrap_or_default()
        );
        let from = match self.attendee_name {
            Some(n) => format!("{} <{}>", encode_word(n), self.attendee),
            None => self.attendee.to_string(),
        };
        let mut out = String::new();
        out.push_str(&format!("From: {from}\r\nTo: {organizer}\r\n"));
        out.push_str(&format!("Subject: {}\r\n", encode_word(&subject)));
        out.push_str(&format!("Date: {}\r\n", self.now.to_rfc2822()));
        out.push_str(&format!(
            "Message-ID: <itip.{}.{}@{}>\r\n",
            self.now.timestamp_nanos_opt().unwrap_or_default(),
            std::process::id(),
            self.attendee.rsplit('@').next().unwrap_or("localhost")
        ));
        out.push_str("MIME-Version: 1.0\r\n");
        out.push_str(&format!(
            "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"
        ));
        for (content_type, body) in [
            (format!("{note_type}; charset=UTF-8"), note),
            (
                format!("text/calendar; charset=UTF-8; method={}", self.method()),
                self.calendar(),
            ),
        ] {
            out.push_str(&format!(
                "--{boundary}\r\nContent-Type: {content_type}\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n{}",
                base64_lines(body.as_bytes())
            ));
        }
        out.push_str(&format!("--{boundary}--\r\n"));
        Some(out.into_bytes())
    }
}

/// `NAME:20261201T100000Z` or `NAME;VALUE=DATE:20261201`.
fn when_line(name: &str, when: When) -> ContentLine {
    match when {
        When::At(t) => ContentLine::new(name, t.format(UTC_FORMAT).to_string()),
        When::Day(d) => {
            ContentLine::new(name, d.format("%Y%m%d").to_string()).param("VALUE", "DATE")
        }
    }
}

/// A header value as an RFC 2047 encoded word when it is not plain ASCII.
fn encode_word(text: &str) -> String {
    if text.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
        text.to_string()
    } else {
        format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(text)
        )
    }
}

/// Base64 in lines of 76 characters, each ended by CRLF (RFC 2045 6.8).
/// SmartForward of a calendar item: the device's message with the meeting
/// request (`ical::write_request`) attached as `text/calendar;
/// method=REQUEST` (RFC 6047 2.4), so the recipients' mail programs offer
/// to add the meeting and answer its organizer.
pub fn forward_message(message: &[u8], request: &str) -> Vec<u8> {
    super::mime::with_part(
        message,
        "Content-Type: text/calendar; charset=UTF-8; method=REQUEST\r\n\
         Content-Disposition: attachment; filename=\"invite.ics\"\r\n\
         Content-Transfer-Encoding: base64\r\n",
        base64_lines(request.as_bytes()).as_bytes(),
    )
}

fn base64_lines(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::ical;
    use crate::model::event::Exception;
    use chrono::TimeZone;

    const REQUEST: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n\
        UID:meet-1\r\nSEQUENCE:2\r\nDTSTAMP:20261120T080000Z\r\n\
        DTSTART:20261201T100000Z\r\nDTEND:20261201T110000Z\r\nSUMMARY:Plan\r\n\
        ORGANIZER;CN=Bob:mailto:bob@example.test\r\n\
        ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.test\r\n\
        END:VEVENT\r\nEND:VCALENDAR\r\n";

    fn invitation(method: &str) -> Vec<u8> {
        format!(
            "From: bob@example.test\r\nTo: alice@example.test\r\nSubject: Plan\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nCome.\r\n\
             --b\r\nContent-Type: text/calendar; method={method}; charset=UTF-8\r\n\r\n{}\r\n--b--\r\n",
            REQUEST.replace("METHOD:REQUEST", &format!("METHOD:{method}"))
        )
        .into_bytes()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 4, 0, 0).unwrap()
    }

    #[test]
    fn a_forwarded_meeting_carries_the_series_or_one_occurrence_as_a_request() {
        let daily = REQUEST.replace("SUMMARY:Plan", "RRULE:FREQ=DAILY;COUNT=5\r\nSUMMARY:Plan");
        let mut event = ical::parse_event(&daily).unwrap();
        let message =
            b"From: alice@example.test\r\nTo: carol@example.test\r\nSubject: Fw: Plan\r\n\
            Content-Type: text/plain\r\n\r\nJoin us.\r\n";

        let series = ical::write_request(&event, "meet-1", None).unwrap();
        assert!(series.contains("METHOD:REQUEST") && series.contains("RRULE:FREQ=DAILY"));
        let sent = forward_message(message, &series);
        assert_eq!(request_in_message(&sent).as_deref(), Some(series.as_str()));
        let text = String::from_utf8_lossy(&sent);
        assert!(text.starts_with("From: alice@example.test\r\nTo: carol@example.test\r\n"));
        assert!(text.contains("\r\n\r\nJoin us.\r\n"), "{text}");

        let third = When::At(Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap());
        let one = ical::write_request(&event, "meet-1", Some(third)).unwrap();
        assert!(
            one.contains("METHOD:REQUEST") && !one.contains("RRULE"),
            "{one}"
        );
        assert!(one.contains("RECURRENCE-ID:20261203T100000Z"), "{one}");
        assert!(one.contains("DTSTART:20261203T100000Z"), "{one}");
        assert!(one.contains("DTEND:20261203T110000Z"), "{one}");
        assert_eq!(occurrence_of(&one).unwrap(), Some(third));

        event.exceptions = Some(vec![Exception {
            original_start: Some(third),
            deleted: Some(true),
            changes: Box::default(),
        }]);
        assert_eq!(ical::write_request(&event, "meet-1", Some(third)), None);
    }

    #[test]
    fn finds_only_requests() {
        let text = request_in_message(&invitation("REQUEST")).expect("request");
        assert!(text.contains("UID:meet-1"));
        assert_eq!(sequence_of(&text), Some(2));
        assert_eq!(request_in_message(&invitation("CANCEL")), None);
        assert_eq!(request_in_message(b"Subject: hi\r\n\r\nplain"), None);
    }

    #[test]
    fn requests_about_one_occurrence() {
        assert_eq!(occurrence_of(REQUEST).unwrap(), None);
        let one = REQUEST.replace(
            "SEQUENCE:2\r\n",
            "SEQUENCE:2\r\nRECURRENCE-ID;TZID=Europe/Berlin:20261203T110000\r\n",
        );
        assert_eq!(
            occurrence_of(&one).unwrap(),
            Some(When::At(
                Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap()
            ))
        );
        let day = REQUEST.replace("SEQUENCE:2\r\n", "RECURRENCE-ID;VALUE=DATE:20261203\r\n");
        assert!(matches!(occurrence_of(&day).unwrap(), Some(When::Day(_))));
        let unknown = REQUEST.replace(
            "SEQUENCE:2\r\n",
            "RECURRENCE-ID;TZID=Nowhere/Else:20261203T110000\r\n",
        );
        assert!(occurrence_of(&unknown).is_err());
    }

    #[test]
    fn answer_sets_status_busy_and_meeting_status() {
        let mut event = crate::convert::ical::parse_event(REQUEST).unwrap();
        record_answer(&mut event, "ALICE@example.test", Answer::Tentative, now());
        let alice = &event.attendees.as_ref().unwrap()[0];
        assert_eq!(alice.status, Some(ResponseStatus::Tentative));
        assert_eq!(event.response_type, Some(ResponseStatus::Tentative));
        assert_eq!(event.busy_status, Some(BusyStatus::Tentative));
        assert_eq!(event.meeting_status, Some(3));
        assert_eq!(event.appointment_reply_time, Some(now()));
        record_answer(&mut event, "carol@example.test", Answer::Accepted, now());
        assert_eq!(event.attendees.as_ref().unwrap().len(), 2);
        assert_eq!(event.busy_status, Some(BusyStatus::Busy));
    }

    #[test]
    fn reply_and_counter_messages() {
        let event = crate::convert::ical::parse_event(REQUEST).unwrap();
        let mut reply = Reply {
            event: &event,
            uid: "meet-1",
            attendee: "alice@example.test",
            attendee_name: Some("Älice"),
            answer: Answer::Declined,
            instance: None,
            comment: Some("Sorry"),
            comment_is_html: false,
            proposed: None,
            sequence: Some(2),
            now: now(),
        };
        let cal = reply.calendar();
        for want in [
            "METHOD:REPLY",
            "UID:meet-1",
            "SEQUENCE:2",
            "ORGANIZER;CN=Bob:mailto:bob@example.test",
            "PARTSTAT=DECLINED",
            "COMMENT:Sorry",
        ] {
            assert!(cal.contains(want), "{want} in {cal}");
        }
        let raw = reply.message().unwrap();
        let parsed = MessageParser::default().parse(&raw[..]).unwrap();
        assert_eq!(parsed.subject(), Some("Declined: Plan"));
        assert_eq!(
            parsed.from().unwrap().first().unwrap().name(),
            Some("Älice")
        );
        let calendar_part = parsed
            .parts
            .iter()
            .find(|p| p.is_content_type("text", "calendar"))
            .unwrap();
        assert_eq!(
            calendar_part.content_type().unwrap().attribute("method"),
            Some("REPLY")
        );
        assert!(String::from_utf8_lossy(calendar_part.contents()).contains("PARTSTAT=DECLINED"));

        reply.instance = Some(When::At(
            Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap(),
        ));
        let one = reply.calendar();
        assert!(one.contains("RECURRENCE-ID:20261203T100000Z"), "{one}");
        assert!(!one.contains("DTSTART"), "not the series' times: {one}");
        reply.instance = None;

        let start = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
        reply.proposed = Some((start, start + chrono::Duration::hours(1)));
        reply.answer = Answer::Tentative;
        let counter = reply.calendar();
        assert!(counter.contains("METHOD:COUNTER"));
        assert!(counter.contains("DTSTART:20261202T090000Z"));
        assert!(counter.contains("DTEND:20261202T100000Z"));

        reply.comment = Some("<p>Sorry</p>");
        reply.comment_is_html = true;
        assert!(!reply.calendar().contains("COMMENT"));
        let raw = reply.message().unwrap();
        let parsed = MessageParser::default().parse(&raw[..]).unwrap();
        assert!(parsed
            .parts
            .iter()
            .any(|p| p.is_content_type("text", "html")));

        let no_organizer = Event::default();
        reply.event = &no_organizer;
        assert_eq!(reply.message(), None);
    }
}
