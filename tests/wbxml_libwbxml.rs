//! Our decoder against an independent one: libwbxml's `wbxml2xml` (Debian
//! package libwbxml2-utils, installed here when missing) must read every
//! corpus document as we do, modulo its known non-spec tag names and its way
//! of printing opaque data.
use base64::Engine;
use horde_activesync::wbxml::{self, codepages, Element, Limits, Node};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Tags libwbxml names differently from MS-ASWBXML: (page, libwbxml, spec).
const LIBWBXML_NAMES: &[(&str, &str, &str)] = &[
    (
        "Contacts",
        "AssistantTelephoneNumber",
        "AssistantPhoneNumber",
    ),
    ("Contacts", "BusinessCity", "BusinessAddressCity"),
    ("Contacts", "BusinessCountry", "BusinessAddressCountry"),
    (
        "Contacts",
        "BusinessPostalCode",
        "BusinessAddressPostalCode",
    ),
    ("Contacts", "BusinessState", "BusinessAddressState"),
    ("Contacts", "BusinessStreet", "BusinessAddressStreet"),
    ("Contacts", "HomeCity", "HomeAddressCity"),
    ("Contacts", "HomeCountry", "HomeAddressCountry"),
    ("Contacts", "HomePostalCode", "HomeAddressPostalCode"),
    ("Contacts", "HomeState", "HomeAddressState"),
    ("Contacts", "HomeStreet", "HomeAddressStreet"),
    ("Contacts", "OtherCity", "OtherAddressCity"),
    ("Contacts", "OtherCountry", "OtherAddressCountry"),
    ("Contacts", "OtherPostalCode", "OtherAddressPostalCode"),
    ("Contacts", "OtherState", "OtherAddressState"),
    ("Contacts", "OtherStreet", "OtherAddressStreet"),
    ("Email", "AttOId", "Att0Id"),
    ("Email", "Reply-To", "ReplyTo"),
    ("Email", "DTStamp", "DtStamp"),
    ("Email", "FlagStatus", "Status"),
    ("Email", "Recurrence_Type", "Type"),
    ("Email", "Recurrence_Until", "Until"),
    ("Email", "Recurrence_Occurrences", "Occurrences"),
    ("Email", "Recurrence_Interval", "Interval"),
    ("Email", "Recurrence_DayOfWeek", "DayOfWeek"),
    ("Email", "Recurrence_DayOfMonth", "DayOfMonth"),
    ("Email", "Recurrence_WeekOfMonth", "WeekOfMonth"),
    ("Email", "Recurrence_MonthOfYear", "MonthOfYear"),
    ("Calendar", "TimeZone", "Timezone"),
    ("Calendar", "Attendee_Email", "Email"),
    ("Calendar", "Attendee_Name", "Name"),
    ("Calendar", "Attendee_Status", "AttendeeStatus"),
    ("Calendar", "Attendee_Type", "AttendeeType"),
    ("Calendar", "DTStamp", "DtStamp"),
    ("Calendar", "Exception_Deleted", "Deleted"),
    ("Calendar", "Exception_StartTime", "ExceptionStartTime"),
    ("Calendar", "Organizer_Email", "OrganizerEmail"),
    ("Calendar", "Organizer_Name", "OrganizerName"),
    ("Calendar", "Recurrence_Type", "Type"),
    ("Calendar", "Recurrence_Until", "Until"),
    ("Calendar", "Recurrence_Occurrences", "Occurrences"),
    ("Calendar", "Recurrence_Interval", "Interval"),
    ("Calendar", "Recurrence_DayOfWeek", "DayOfWeek"),
    ("Calendar", "Recurrence_DayOfMonth", "DayOfMonth"),
    ("Calendar", "Recurrence_WeekOfMonth", "WeekOfMonth"),
    ("Calendar", "Recurrence_MonthOfYear", "MonthOfYear"),
    ("Tasks", "UTCDueDate", "UtcDueDate"),
    ("Tasks", "UTCStartDate", "UtcStartDate"),
    ("Tasks", "Recurrence_Type", "Type"),
    ("Tasks", "Recurrence_Start", "Start"),
    ("Tasks", "Recurrence_Until", "Until"),
    ("Tasks", "Recurrence_Occurrences", "Occurrences"),
    ("Tasks", "Recurrence_Interval", "Interval"),
    ("Tasks", "Recurrence_DayOfMonth", "DayOfMonth"),
    ("Tasks", "Recurrence_DayOfWeek", "DayOfWeek"),
    ("Tasks", "Recurrence_WeekOfMonth", "WeekOfMonth"),
    ("Tasks", "Recurrence_MonthOfYear", "MonthOfYear"),
    ("Tasks", "Recurrence_Regenerate", "Regenerate"),
    ("Tasks", "Recurrence_DeadOccur", "DeadOccur"),
    (
        "Provision",
        "DeviceEncryptionEnabled",
        "RequireStorageCardEncryption",
    ),
    ("Settings", "SmtpAddress", "SMTPAddress"),
    (
        "Settings",
        "ihsManagementInformation",
        "RightsManagementInformation",
    ),
    ("ComposeMail", "MIME", "Mime"),
    ("ComposeMail", "ForwardeeName", "Name"),
    ("ComposeMail", "ForwardeeEmail", "Email"),
    ("RightsManagement", "RMOwner", "Owner"),
];

/// An element as libwbxml printed it.
#[derive(Debug)]
struct LibElement {
    namespace: String,
    name: String,
    text: String,
    children: Vec<LibElement>,
}

fn wbxml2xml() -> PathBuf {
    let tool = PathBuf::from("/usr/bin/wbxml2xml");
    if !tool.exists() {
        // Idempotent, serialised with other test binaries by flock.
        let status = Command::new("flock")
            .args(["/tmp/horde-activesync-apt.lock", "sh", "-c"])
            .arg("test -x /usr/bin/wbxml2xml || apt-get install -y -q libwbxml2-utils")
            .status()
            .expect("flock/apt-get");
        assert!(status.success(), "installing libwbxml2-utils failed");
    }
    tool
}

fn libwbxml_decode(tool: &Path, file: &Path) -> Option<LibElement> {
    let out = tempfile::NamedTempFile::new().unwrap();
    let status = Command::new(tool)
        .args(["-l", "ACTIVESYNC", "-m", "0", "-o"])
        .arg(out.path())
        .arg(file)
        .output()
        .unwrap();
    assert!(status.status.success(), "wbxml2xml failed on {file:?}");
    // Opaque content is printed raw, so not necessarily UTF-8.
    let text = String::from_utf8_lossy(&std::fs::read(out.path()).unwrap()).into_owned();
    parse(&text)
}

/// libwbxml's XML as a plain tree; `None` when it met tokens it lacks.
fn parse(text: &str) -> Option<LibElement> {
    let mut reader = NsReader::from_str(text);
    let mut open: Vec<LibElement> = Vec::new();
    let mut root = None;
    loop {
        let (resolved, event) = reader.read_resolved_event().unwrap();
        let start = |e: &quick_xml::events::BytesStart| {
            let namespace = match &resolved {
                ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.as_ref()).into_owned(),
                _ => String::new(),
            };
            LibElement {
                namespace: namespace.trim_end_matches(':').to_owned(),
                name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                text: String::new(),
                children: Vec::new(),
            }
        };
        let done = match event {
            Event::Start(e) => {
                open.push(start(&e));
                continue;
            }
            Event::Empty(e) => start(&e),
            Event::Text(t) => {
                if let Some(top) = open.last_mut() {
                    top.text.push_str(&t.unescape().unwrap());
                }
                continue;
            }
            Event::End(_) => open.pop().unwrap(),
            Event::Eof => break,
            _ => continue,
        };
        if done.name == "unknown" {
            return None;
        }
        match open.last_mut() {
            Some(parent) => parent.children.push(done),
            None => root = Some(done),
        }
    }
    root
}

/// The spec name of a tag libwbxml printed.
fn spec_name<'a>(namespace: &str, name: &'a str) -> &'a str {
    LIBWBXML_NAMES
        .iter()
        .find(|(ns, lib, _)| ns.eq_ignore_ascii_case(namespace) && *lib == name)
        .map(|(_, _, spec)| *spec)
        .unwrap_or(name)
}

fn compare(ours: &Element, theirs: &LibElement, path: &str) {
    let (namespace, name) = codepages::name_of(ours.tag).unwrap();
    let path = format!("{path}/{namespace}:{name}");
    assert!(
        theirs.namespace.eq_ignore_ascii_case(namespace),
        "{path}: libwbxml namespace {:?}",
        theirs.namespace
    );
    assert_eq!(spec_name(&theirs.namespace, &theirs.name), name, "{path}");
    let elements: Vec<&Element> = ours.elements().collect();
    assert_eq!(elements.len(), theirs.children.len(), "{path}: children");
    for (o, t) in elements.iter().zip(&theirs.children) {
        compare(o, t, &path);
    }
    // Text as written; opaque bytes libwbxml prints raw or in base64.
    let text_matches = match ours.children.as_slice() {
        [Node::Opaque(bytes)] => {
            // Raw binary does not survive libwbxml's XML output: not comparable.
            std::str::from_utf8(bytes).map_or(true, |s| s == theirs.text)
                || theirs.text == base64::engine::general_purpose::STANDARD.encode(bytes)
        }
        _ => {
            let ours_text: String = ours
                .children
                .iter()
                .filter_map(|n| match n {
                    Node::Text(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect();
            // libwbxml prints elements it deems binary in base64 even when
            // they were inline strings.
            ours_text == theirs.text
                || theirs.text == base64::engine::general_purpose::STANDARD.encode(&ours_text)
        }
    };
    assert!(text_matches, "{path}: libwbxml text {:?}", theirs.text);
}

#[test]
fn libwbxml_reads_the_corpus_as_we_do() {
    let tool = wbxml2xml();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/wbxml");
    let mut compared = 0;
    let mut lacking = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wbxml"))
        .collect();
    files.sort();
    for file in &files {
        let ours = wbxml::decode(&std::fs::read(file).unwrap(), &Limits::default()).unwrap();
        match libwbxml_decode(&tool, file) {
            Some(theirs) => {
                compare(&ours, &theirs, &file.file_stem().unwrap().to_string_lossy());
                compared += 1;
            }
            None => lacking.push(file.file_stem().unwrap().to_string_lossy().into_owned()),
        }
    }
    // libwbxml 0.11 lacks page 25 (Find) and a few 16.1 tokens only.
    assert!(compared >= 60, "compared {compared}, lacking {lacking:?}");
    for name in &lacking {
        assert!(
            name.contains("161") || name.starts_with("meetingresponse-request"),
            "libwbxml could not read {name}"
        );
    }
}
