//! `model::Email` <-> Sync `ApplicationData` (MS-ASEMAIL 2.2.2, MS-ASAIRS).
//!
//! The server sends the whole message view; a device's Change of an email
//! carries only what a device may change: Read, Flag and Categories
//! (MS-ASEMAIL 3.1.5.3). Adds of email from a device are not a thing (mail
//! is created by SendMail or by moving), so there is no full reverse mapping.

use super::body::{body_element, body_type, choose, truncate, BodyPreference, Offer};
use crate::eas::version::Version;
use crate::model::email::{Attachment, Email, Flag};
use crate::wbxml::codepages::{airsync, airsyncbase as asb, email as em, email2, tasks};
use crate::wbxml::Element;
use chrono::{DateTime, NaiveDateTime, Utc};

/// The children of ApplicationData for this email.
pub fn to_eas(e: &Email, version: Version, prefs: &[BodyPreference]) -> Vec<Element> {
    let mut out = Vec::new();
    let mut text = |tag, v: Option<&str>| {
        if let Some(v) = v {
            out.push(Element::text_element(tag, v));
        }
    };
    text(em::To, e.to.as_deref());
    text(em::Cc, e.cc.as_deref());
    text(em::From, e.from.as_deref());
    text(em::ReplyTo, e.reply_to.as_deref());
    text(em::Subject, e.subject.as_deref());
    text(em::DisplayTo, e.display_to.as_deref());
    text(em::ThreadTopic, e.thread_topic.as_deref());
    if let Some(t) = e.date_received {
        out.push(Element::text_element(em::DateReceived, format_date(t)));
    }
    out.push(Element::text_element(
        em::Importance,
        e.importance.unwrap_or(1).to_string(),
    ));
    out.push(Element::text_element(
        em::Read,
        if e.read.unwrap_or(false) { "1" } else { "0" },
    ));
    let prefs = mime_first_for_smime(e, prefs);
    if version.uses_airsyncbase_body() {
        out.extend([body_element(&offers(e), &prefs)]);
    } else {
        out.extend(legacy_body(e, &prefs));
    }
    if let Some(c) = &e.message_class {
        out.push(Element::text_element(em::MessageClass, c.as_str()));
    }
    if let Some(cpid) = e.internet_cpid {
        out.push(Element::text_element(em::InternetCPID, cpid.to_string()));
    }
    if version.email_flags() {
        if let Some(c) = &e.content_class {
            out.push(Element::text_element(em::ContentClass, c.as_str()));
        }
        out.push(flag_element(e.flag.as_ref()));
    }
    if !e.attachments.is_empty() {
        out.push(attachments_element(&e.attachments, version));
    }
    if version.email_conversations() {
        if !e.categories.is_empty() {
            let mut cats = Element::new(em::Categories);
            for c in &e.categories {
                cats.push_text(em::Category, c.as_str());
            }
            out.push(cats);
        }
        if let Some(id) = &e.conversation_id {
            out.push(Element::opaque_element(email2::ConversationId, id.clone()));
        }
        if let Some(ix) = &e.conversation_index {
            out.push(Element::opaque_element(
                email2::ConversationIndex,
                ix.clone(),
            ));
        }
    }
    if version.email_last_verb() {
        if let Some(verb) = e.last_verb_executed {
            out.push(Element::text_element(
                email2::LastVerbExecuted,
                verb.to_string(),
            ));
            if let Some(t) = e.last_verb_execution_time {
                out.push(Element::text_element(
                    email2::LastVerbExecutionTime,
                    format_date(t),
                ));
            }
        }
    }
    out
}

/// S/MIME messages are useless without their MIME form: a device that can
/// take MIME at all (a Type 4 preference anywhere, e.g. from MIMESupport 1)
/// gets it for them first.
fn mime_first_for_smime(e: &Email, prefs: &[BodyPreference]) -> Vec<BodyPreference> {
    let smime = e
        .message_class
        .as_deref()
        .is_some_and(|c| c.starts_with("IPM.Note.SMIME"));
    let mut out = prefs.to_vec();
    if smime {
        out.sort_by_key(|p| p.body_type != body_type::MIME);
    }
    out
}

/// 2.5 bodies (MS-ASEMAIL 2.2.2.10.2, 2.2.2.50): the whole message as
/// MIMEData/MIMETruncated/MIMESize when the device asked for MIME
/// (MIMESupport), else the plain text as Body/BodyTruncated (BodySize when
/// cut). Sizes are those of the whole forms (see `offers`).
fn legacy_body(e: &Email, prefs: &[BodyPreference]) -> Vec<Element> {
    let pref = choose(prefs, &[body_type::PLAIN, body_type::MIME]);
    let limit = pref.truncation_size.map_or(usize::MAX, |n| n as usize);
    let all = offers(e);
    let offer = |t| all.iter().find(|o: &&Offer| o.body_type == t);
    match (offer(body_type::MIME), pref.body_type) {
        (Some(mime), body_type::MIME) => {
            let cut = &mime.content[..limit.min(mime.content.len())];
            let data = match std::str::from_utf8(cut) {
                Ok(text) => Element::text_element(em::MIMEData, text),
                Err(_) => Element::opaque_element(em::MIMEData, cut),
            };
            vec![
                Element::text_element(em::MIMETruncated, bit((cut.len() as u64) < mime.size())),
                Element::text_element(em::MIMESize, mime.size().to_string()),
                data,
            ]
        }
        _ => {
            let plain = e.body.plain.as_deref().unwrap_or_default();
            let size = offer(body_type::PLAIN).map_or(0, Offer::size);
            let cut = truncate(plain, limit);
            let truncated = (cut.len() as u64) < size;
            let mut out = vec![Element::text_element(em::Body, cut)];
            if truncated {
                out.push(Element::text_element(em::BodySize, size.to_string()));
            }
            out.push(Element::text_element(em::BodyTruncated, bit(truncated)));
            out
        }
    }
}

fn bit(b: bool) -> &'static str {
    if b {
        "1"
    } else {
        "0"
    }
}

/// Sync Options that predate BodyPreference (MS-ASCMD 2.2.3.185 Truncation,
/// 2.2.3.110.3 MIMESupport, 2.2.3.111 MIMETruncation), folded into the
/// device's body preferences so one list says what a device gets:
/// Truncation cuts the plain text; MIMESupport 2 puts MIME (cut at
/// MIMETruncation) before everything, 1 offers it last (S/MIME messages
/// take it first, see `to_eas`), 0 takes it away.
pub fn with_mime_options(mut prefs: Vec<BodyPreference>, options: &Element) -> Vec<BodyPreference> {
    let pref = |body_type, truncation_size| BodyPreference {
        body_type,
        truncation_size,
        all_or_none: false,
        preview: None,
    };
    if let Some(code) = options.u32_of(airsync::Truncation) {
        prefs.push(pref(body_type::PLAIN, body_truncation(code)));
    }
    let mime_size = options
        .u32_of(airsync::MIMETruncation)
        .and_then(mime_truncation);
    match options.u32_of(airsync::MIMESupport) {
        Some(0) => prefs.retain(|p| p.body_type != body_type::MIME),
        Some(1) => prefs.push(pref(body_type::MIME, mime_size)),
        Some(2) => prefs.insert(0, pref(body_type::MIME, mime_size)),
        _ => {}
    }
    prefs
}

/// Truncation codes -> characters (`None`: do not truncate).
fn body_truncation(code: u32) -> Option<u32> {
    [0, 512, 1024, 2048, 5120, 10240, 20480, 51200, 102_400]
        .get(code as usize)
        .copied()
}

/// MIMETruncation codes -> characters (`None`: do not truncate).
fn mime_truncation(code: u32) -> Option<u32> {
    [0, 4096, 5120, 7168, 10240, 20480, 51200, 102_400]
        .get(code as usize)
        .copied()
}

/// The body forms on offer, in the order a device without preference gets
/// them, with the full sizes of those held only in part.
fn offers(e: &Email) -> Vec<Offer<'_>> {
    let b = &e.body;
    let plain = b.plain.as_deref().unwrap_or_default().as_bytes();
    let forms = [
        (body_type::PLAIN, Some(plain), b.partial.plain),
        (
            body_type::HTML,
            b.html.as_deref().map(str::as_bytes),
            b.partial.html,
        ),
        (body_type::MIME, b.mime.as_deref(), b.partial.mime),
    ];
    forms
        .into_iter()
        .filter_map(|(body_type, content, full_size)| {
            Some(Offer {
                body_type,
                content: content?,
                full_size,
            })
        })
        .collect()
}

fn attachments_element(list: &[Attachment], version: Version) -> Element {
    if !version.uses_airsyncbase_body() {
        let mut atts = Element::new(em::Attachments);
        for a in list {
            atts.push(
                Element::new(em::Attachment)
                    .with_text(em::AttMethod, a.method.to_string())
                    .with_text(em::AttSize, a.estimated_data_size.to_string())
                    .with_text(em::DisplayName, a.display_name.as_str())
                    .with_text(em::AttName, a.file_reference.as_str()),
            );
        }
        return atts;
    }
    let mut atts = Element::new(asb::Attachments);
    for a in list {
        let mut att = Element::new(asb::Attachment)
            .with_text(asb::DisplayName, a.display_name.as_str())
            .with_text(asb::FileReference, a.file_reference.as_str())
            .with_text(asb::Method, a.method.to_string())
            .with_text(asb::EstimatedDataSize, a.estimated_data_size.to_string());
        if let Some(cid) = &a.content_id {
            att.push_text(asb::ContentId, cid.as_str());
        }
        if a.is_inline {
            att.push_text(asb::IsInline, "1");
        }
        atts.push(att);
    }
    atts
}

/// email:Flag; an empty element means "no flag" (MS-ASEMAIL 2.2.2.34).
fn flag_element(flag: Option<&Flag>) -> Element {
    let mut f = Element::new(em::Flag);
    let Some(flag) = flag.filter(|f| f.status != 0) else {
        return f;
    };
    f.push_text(em::Status, flag.status.to_string());
    if let Some(t) = &flag.flag_type {
        f.push_text(em::FlagType, t.as_str());
    }
    for (tag, utc_tag, value) in [
        (tasks::StartDate, tasks::UtcStartDate, flag.start_date),
        (tasks::DueDate, tasks::UtcDueDate, flag.due_date),
    ] {
        if let Some(t) = value {
            f.push_text(tag, format_date(t));
            f.push_text(utc_tag, format_date(t));
        }
    }
    if let Some(t) = flag.complete_time {
        f.push_text(em::CompleteTime, format_date(t));
        f.push_text(tasks::DateCompleted, format_date(t));
    }
    f
}

/// What a device's Change says: only Read, Flag and Categories are taken;
/// the rest of the returned email is empty.
pub fn from_eas(data: &Element) -> Email {
    Email {
        read: data.bool_of(em::Read),
        flag: data.child(em::Flag).map(|f| Flag {
            status: f.u32_of(em::Status).unwrap_or(0),
            flag_type: f.text_of(em::FlagType).map(str::to_string),
            start_date: f.text_of(tasks::UtcStartDate).and_then(parse_date),
            due_date: f.text_of(tasks::UtcDueDate).and_then(parse_date),
            complete_time: f.text_of(em::CompleteTime).and_then(parse_date),
        }),
        categories_sent: data.has(em::Categories),
        categories: data
            .child(em::Categories)
            .map(|c| {
                c.children_with(em::Category)
                    .filter_map(|x| x.text().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        ..Email::default()
    }
}

/// The stored email after a device's Change: the existing message with the
/// fields the device sent; a field it left out stays as it was. An empty
/// Categories element clears the categories (`sent.categories_sent`).
pub fn merge_change(old: &Email, sent: &Email, sent_categories: bool) -> Email {
    let sent_categories = sent_categories || sent.categories_sent;
    let mut e = old.clone();
    if sent.read.is_some() {
        e.read = sent.read;
    }
    if sent.flag.is_some() {
        e.flag = sent.flag.clone();
    }
    if sent_categories {
        e.categories = sent.categories.clone();
    }
    e
}

/// `2026-11-24T09:00:00.000Z`.
pub fn format_date(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S.000Z")
        .to_string()
}

/// An EAS date (`2026-11-24T09:00:00.000Z`, also without fraction or in
/// the basic form) -> unix seconds.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y%m%dT%H%M%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|d| d.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::email::EmailBody;
    use crate::wbxml::codepages::airsync;

    fn sample() -> Email {
        Email {
            subject: Some("Hi".into()),
            from: Some("bob@example.test".into()),
            date_received: Some(1_795_510_800),
            read: Some(false),
            flag: Some(Flag {
                status: 2,
                flag_type: Some("Follow up".into()),
                ..Flag::default()
            }),
            categories: vec!["Work".into()],
            body: EmailBody {
                plain: Some("hello world".into()),
                html: Some("<p>hello world</p>".into()),
                mime: Some(b"Subject: Hi\r\n\r\nhello world\r\n".to_vec()),
                ..EmailBody::default()
            },
            ..Email::default()
        }
    }

    fn app(children: Vec<Element>) -> Element {
        let mut e = Element::new(airsync::ApplicationData);
        for c in children {
            e.push(c);
        }
        e
    }

    #[test]
    fn versions_get_their_own_body_and_flag_forms() {
        let e = sample();
        let prefs = [BodyPreference {
            body_type: 1,
            truncation_size: Some(5),
            all_or_none: false,
            preview: None,
        }];
        let v16 = app(to_eas(&e, Version::V16_1, &prefs));
        assert_eq!(
            v16.text_of(em::DateReceived),
            Some("2026-11-24T09:00:00.000Z")
        );
        assert_eq!(
            v16.path(&[asb::Body, asb::Data]).unwrap().text(),
            Some("hello")
        );
        assert_eq!(v16.path(&[em::Flag, em::Status]).unwrap().text(), Some("2"));
        assert_eq!(
            v16.path(&[em::Categories, em::Category]).unwrap().text(),
            Some("Work")
        );
        let v25 = app(to_eas(&e, Version::V2_5, &prefs));
        assert_eq!(v25.text_of(em::Body), Some("hello"));
        assert_eq!(v25.text_of(em::BodyTruncated), Some("1"));
        assert!(v25.child(em::Flag).is_none() && v25.child(asb::Body).is_none());
        let v12 = app(to_eas(&e, Version::V12_1, &prefs));
        assert!(v12.child(em::Flag).is_some() && v12.child(em::Categories).is_none());
        let replied = Email {
            last_verb_executed: Some(2),
            last_verb_execution_time: Some(1_795_510_800),
            ..sample()
        };
        let v14 = app(to_eas(&replied, Version::V14_0, &prefs));
        assert_eq!(v14.text_of(email2::LastVerbExecuted), Some("2"));
        assert_eq!(
            v14.text_of(email2::LastVerbExecutionTime),
            Some("2026-11-24T09:00:00.000Z")
        );
        let v12 = app(to_eas(&replied, Version::V12_1, &prefs));
        assert!(v12.child(email2::LastVerbExecuted).is_none());
    }

    #[test]
    fn legacy_mime_options_become_body_preferences_and_2_5_bodies() {
        let options = |children: &[(crate::wbxml::Tag, &str)]| {
            let mut o = Element::new(airsync::Options);
            for (t, v) in children {
                o.push_text(*t, *v);
            }
            o
        };
        let html_first = vec![BodyPreference {
            body_type: 2,
            truncation_size: None,
            all_or_none: false,
            preview: None,
        }];
        // MIMESupport 2 + MIMETruncation 1 (4096): MIME before HTML.
        let p = with_mime_options(
            html_first.clone(),
            &options(&[(airsync::MIMESupport, "2"), (airsync::MIMETruncation, "1")]),
        );
        assert_eq!((p[0].body_type, p[0].truncation_size), (4, Some(4096)));
        // MIMESupport 1: MIME last, and first only for S/MIME messages.
        let p = with_mime_options(html_first.clone(), &options(&[(airsync::MIMESupport, "1")]));
        assert_eq!(
            p.iter().map(|p| p.body_type).collect::<Vec<_>>(),
            vec![2, 4]
        );
        let plain_msg = app(to_eas(&sample(), Version::V14_1, &p));
        assert_eq!(
            plain_msg.path(&[asb::Body, asb::Type]).unwrap().text(),
            Some("2")
        );
        let smime = Email {
            message_class: Some("IPM.Note.SMIME".into()),
            ..sample()
        };
        let smime_msg = app(to_eas(&smime, Version::V14_1, &p));
        assert_eq!(
            smime_msg.path(&[asb::Body, asb::Type]).unwrap().text(),
            Some("4")
        );
        // MIMESupport 0 takes MIME away even when BodyPreference asked.
        let mime_pref = with_mime_options(html_first, &options(&[(airsync::MIMESupport, "2")]));
        assert!(
            with_mime_options(mime_pref, &options(&[(airsync::MIMESupport, "0")]))
                .iter()
                .all(|p| p.body_type != 4)
        );

        // 2.5: Truncation 1 (512) cuts Body; MIMESupport 2 sends MIMEData.
        let mut long = sample();
        long.body.plain = Some("x".repeat(600));
        let p = with_mime_options(Vec::new(), &options(&[(airsync::Truncation, "1")]));
        let v25 = app(to_eas(&long, Version::V2_5, &p));
        assert_eq!(v25.text_of(em::Body).map(str::len), Some(512));
        assert_eq!(v25.text_of(em::BodyTruncated), Some("1"));
        assert_eq!(v25.text_of(em::BodySize), Some("600"));
        let p = with_mime_options(
            Vec::new(),
            &options(&[(airsync::MIMESupport, "2"), (airsync::MIMETruncation, "8")]),
        );
        let v25 = app(to_eas(&sample(), Version::V2_5, &p));
        assert_eq!(
            v25.text_of(em::MIMEData),
            Some("Subject: Hi\r\n\r\nhello world\r\n")
        );
        assert_eq!(v25.text_of(em::MIMETruncated), Some("0"));
        assert_eq!(v25.text_of(em::MIMESize), Some("28"));
        assert!(v25.child(em::Body).is_none());
    }

    #[test]
    fn forms_held_in_part_report_their_full_sizes() {
        let mut big = sample();
        big.body.partial = crate::model::email::Partial {
            plain: Some(9_000),
            mime: Some(50_000),
            ..Default::default()
        };
        // 2.5: MIMESize and BodySize are those of the whole forms.
        let options = |mime: &str| {
            let mut o = Element::new(airsync::Options);
            o.push_text(airsync::MIMESupport, mime);
            o
        };
        let p = with_mime_options(Vec::new(), &options("2"));
        let v25 = app(to_eas(&big, Version::V2_5, &p));
        assert_eq!(v25.text_of(em::MIMETruncated), Some("1"));
        assert_eq!(v25.text_of(em::MIMESize), Some("50000"));
        let p = with_mime_options(Vec::new(), &options("0"));
        let v25 = app(to_eas(&big, Version::V2_5, &p));
        assert_eq!(v25.text_of(em::Body), Some("hello world"));
        assert_eq!(v25.text_of(em::BodyTruncated), Some("1"));
        assert_eq!(v25.text_of(em::BodySize), Some("9000"));
        // 12.0+: EstimatedDataSize, Truncated.
        let p = with_mime_options(Vec::new(), &options("2"));
        let v14 = app(to_eas(&big, Version::V14_1, &p));
        let body = v14.child(asb::Body).unwrap();
        assert_eq!(body.text_of(asb::Type), Some("4"));
        assert_eq!(body.text_of(asb::EstimatedDataSize), Some("50000"));
        assert_eq!(body.text_of(asb::Truncated), Some("1"));
    }

    #[test]
    fn a_change_takes_only_read_flag_and_categories() {
        let old = sample();
        let change = app(vec![
            Element::text_element(em::Read, "1"),
            Element::text_element(em::Subject, "ignored"),
            Element::new(em::Flag),
        ]);
        let sent = from_eas(&change);
        let merged = merge_change(&old, &sent, change.has(em::Categories));
        assert_eq!(merged.read, Some(true));
        assert_eq!(merged.flag.as_ref().map(|f| f.status), Some(0));
        assert_eq!(merged.subject.as_deref(), Some("Hi"));
        assert_eq!(merged.categories, vec!["Work".to_string()]);
        // Read alone leaves the flag alone.
        let sent = from_eas(&app(vec![Element::text_element(em::Read, "0")]));
        let merged = merge_change(&old, &sent, false);
        assert_eq!((merged.read, merged.flag), (Some(false), old.flag.clone()));
        assert_eq!(merged.categories, old.categories);
        // An empty Categories element clears them.
        let sent = from_eas(&app(vec![Element::new(em::Categories)]));
        assert!(merge_change(&old, &sent, false).categories.is_empty());
        assert_eq!(parse_date("2026-11-24T09:00:00.000Z"), Some(1_795_510_800));
    }
}
