//! Just enough iCalendar text handling to cut Horde's whole-collection exports
//! (`exportCalendar`, `exportTasklist`) into one VCALENDAR per item uid, and
//! to give an item a new uid. Field mapping is `convert::ical`'s job.

use std::collections::HashMap;

/// Content lines with RFC 5545 folding undone (CRLF or LF input).
pub fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match (
            raw.strip_prefix(' ').or_else(|| raw.strip_prefix('\t')),
            lines.last_mut(),
        ) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ if raw.is_empty() => {}
            _ => lines.push(raw.to_string()),
        }
    }
    lines
}

/// The property name of a content line (before `;` or `:`), upper-cased.
pub fn name_of(line: &str) -> String {
    line.split([';', ':'])
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// The raw value of a content line (after the first unquoted `:`).
pub fn value_of(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return &line[i + 1..],
            _ => {}
        }
    }
    ""
}

/// Split a VCALENDAR into uid → a VCALENDAR holding that uid's components
/// (a recurring event and its RECURRENCE-ID exceptions stay together) plus
/// every VTIMEZONE of the export.
pub fn split_by_uid(text: &str) -> HashMap<String, String> {
    let mut header = Vec::new();
    let mut timezones = Vec::new();
    let mut items: Vec<(Option<String>, Vec<String>)> = Vec::new();
    let mut depth = 0;
    let mut current: Option<(bool, Vec<String>, Option<String>)> = None;
    for line in unfold(text) {
        let name = name_of(&line);
        if name == "BEGIN" {
            depth += 1;
            if depth == 2 {
                let is_tz = value_of(&line).eq_ignore_ascii_case("VTIMEZONE");
                current = Some((is_tz, Vec::new(), None));
            }
        }
        match current.as_mut() {
            Some((_, lines, uid)) => {
                if depth == 2 && name == "UID" {
                    *uid = Some(value_of(&line).to_string());
                }
                lines.push(line);
            }
            None if depth == 1 && name != "BEGIN" && name != "END" => header.push(line),
            None => {}
        }
        if name == "END" {
            depth -= 1;
            if depth == 1 {
                if let Some((is_tz, lines, uid)) = current.take() {
                    if is_tz {
                        timezones.extend(lines);
                    } else {
                        items.push((uid, lines));
                    }
                }
            }
        }
    }
    let mut by_uid: HashMap<String, Vec<String>> = HashMap::new();
    for (uid, lines) in items {
        if let Some(uid) = uid {
            by_uid.entry(uid).or_default().extend(lines);
        }
    }
    by_uid
        .into_iter()
        .map(|(uid, lines)| {
            let mut out = String::from("BEGIN:VCALENDAR\r\n");
            for l in header.iter().chain(&timezones).chain(&lines) {
                out.push_str(l);
                out.push_str("\r\n");
            }
            out.push_str("END:VCALENDAR\r\n");
            (uid, out)
        })
        .collect()
}

/// The text with every `UID` property set to `uid`.
pub fn replace_uid(text: &str, uid: &str) -> String {
    unfold(text)
        .into_iter()
        .map(|l| {
            if name_of(&l) == "UID" {
                format!("UID:{uid}")
            } else {
                l
            }
        })
        .fold(String::new(), |mut out, l| {
            out.push_str(&l);
            out.push_str("\r\n");
            out
        })
}

/// A new globally unique item uid (random, 128 bits).
pub fn new_uid() -> String {
    let mut bytes = [0u8; 16];
    // getrandom only fails without an OS entropy source; the clock still
    // gives a usable, if guessable, uid then.
    if getrandom::getrandom(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = nanos.to_le_bytes();
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}@horde-activesync")
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPORT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-CALNAME:Cal\r\n\
BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
BEGIN:VEVENT\r\nUID:a@x\r\nSUMMARY:Weekly\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:b@x\r\nSUMMARY:Long summary that is\r\n  folded\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:a@x\r\nRECURRENCE-ID:20261215T100000Z\r\nSUMMARY:Moved\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

    #[test]
    fn export_splits_per_uid_keeping_exceptions_and_timezones() {
        let parts = split_by_uid(EXPORT);
        assert_eq!(parts.len(), 2);
        let a = &parts["a@x"];
        assert_eq!(a.matches("BEGIN:VEVENT").count(), 2);
        assert!(a.contains("RECURRENCE-ID:20261215T100000Z"));
        assert!(a.contains("TZID:Europe/Berlin") && a.contains("VERSION:2.0"));
        assert!(parts["b@x"].contains("SUMMARY:Long summary that is folded\r\n"));
    }

    #[test]
    fn uid_replaced_everywhere() {
        let text = replace_uid(EXPORT, "new@y");
        assert_eq!(text.matches("UID:new@y").count(), 3);
        assert!(!text.contains("UID:a@x"));
    }

    #[test]
    fn quoted_colons_do_not_end_the_name() {
        assert_eq!(value_of("DTSTART;TZID=\"a:b\":2026"), "2026");
        assert_eq!(name_of("dtstart;TZID=x:1"), "DTSTART");
    }
}
