//! Contacts conversion: every MS-ASCNTC / Contacts2 field through EAS
//! (WBXML bytes included), vCard, and both; the Birthday quirks; Turba's
//! real export; ghosting; malformed vCards.

use horde_activesync::convert::body::BodyPreference;
use horde_activesync::convert::eas_contact;
use horde_activesync::convert::{ghost, vcard};
use horde_activesync::eas::version::{Version, ALL};
use horde_activesync::model::contact::{Address, CalendarDate, Contact};
use horde_activesync::wbxml::codepages::{airsync, airsyncbase, contacts, contacts2};
use horde_activesync::wbxml::{self, xml, Element, Tag};
use proptest::prelude::*;

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// A contact with every field set, with values that need escaping.
fn full_contact() -> Contact {
    Contact {
        file_as: s("Doe, Jane; \"JD\""),
        title: s("Dr."),
        first_name: s("Jane"),
        middle_name: s("Q."),
        last_name: s("Doe"),
        suffix: s("Jr."),
        yomi_first_name: s("ジェーン"),
        yomi_last_name: s("ドウ"),
        nick_name: s("JJ"),
        alias: s("jdoe"),
        weighted_rank: Some(42),
        company_name: s("Acme, Inc."),
        yomi_company_name: s("アクメ"),
        department: s("R&D"),
        job_title: s("Chief \\ Tester"),
        office_location: s("Building 7, room 3"),
        manager_name: s("Max Manager"),
        assistant_name: s("Anna Assistant"),
        email1_address: s("jane@example.com"),
        email2_address: s("\"Jane Home\" <jane@home.example>"),
        email3_address: s("jane@work.example"),
        web_page: s("https://example.com/~jane?a=1,2"),
        im_address: s("jane@jabber.example"),
        im_address2: s("jane.im2@example"),
        im_address3: s("jane.im3@example"),
        mms: s("+1 555 0100"),
        home_phone_number: s("+1 555 0101"),
        home2_phone_number: s("+1 555 0102"),
        business_phone_number: s("+1 555 0103"),
        business2_phone_number: s("+1 555 0104"),
        mobile_phone_number: s("+1 555 0105"),
        car_phone_number: s("+1 555 0106"),
        radio_phone_number: s("+1 555 0107"),
        pager_number: s("+1 555 0108"),
        home_fax_number: s("+1 555 0109"),
        business_fax_number: s("+1 555 0110"),
        assistant_phone_number: s("+1 555 0111"),
        company_main_phone: s("+1 555 0112"),
        home_address: Address {
            street: s("1 Home Street\nFlat 2"),
            city: s("Hometown"),
            state: s("HS"),
            postal_code: s("12345"),
            country: s("Homeland"),
        },
        business_address: Address {
            street: s("2 Work Road"),
            city: s("Worktown"),
            state: s("WS"),
            postal_code: s("23456"),
            country: s("Workland"),
        },
        other_address: Address {
            street: s("3 Other Lane; back door"),
            city: s("Otherville"),
            state: s("OS"),
            postal_code: s("34567"),
            country: s("Otherland"),
        },
        birthday: CalendarDate::new(1980, 5, 4),
        anniversary: CalendarDate::new(2005, 12, 31),
        spouse: s("John Doe"),
        children: Some(vec!["Kid, One".into(), "Kid Two".into()]),
        categories: Some(vec!["Family".into(), "VIP".into()]),
        customer_id: s("CUST-001"),
        government_id: s("GOV-002"),
        account_name: s("ACC-003"),
        body: s("Line one\nLine two; with, punctuation \\ and é"),
        picture: Some(b"\xFF\xD8\xFF\xE0fake jpeg bytes".to_vec()),
    }
}

/// The contact as a client of this version can carry it.
fn for_version(mut c: Contact, v: Version) -> Contact {
    if v < Version::V14_0 {
        c.alias = None;
        c.weighted_rank = None;
    }
    c
}

fn app_data(children: Vec<Element>) -> Element {
    let mut e = Element::new(airsync::ApplicationData);
    for c in children {
        e.push(c);
    }
    e
}

/// Through real WBXML bytes, as the Sync command will do.
fn wire(e: &Element) -> Element {
    wbxml::decode(&wbxml::encode(e), &Default::default()).expect("own encoding decodes")
}

/// A device's BodyPreference for plain text cut at `size` bytes.
fn plain_truncated_at(size: u32) -> Vec<BodyPreference> {
    vec![BodyPreference {
        body_type: 1,
        truncation_size: Some(size),
        all_or_none: false,
        preview: None,
    }]
}

fn sorted(mut v: Vec<Element>) -> Vec<Element> {
    v.sort_by_key(|e| e.tag);
    v
}

#[test]
fn model_eas_model_keeps_every_field_in_every_version() {
    for v in ALL {
        let c = for_version(full_contact(), v);
        let back = eas_contact::from_eas(&wire(&app_data(eas_contact::to_eas(&c, v, &[]))), v);
        assert_eq!(back, c, "version {}", v.as_str());
    }
}

/// What a 14.1 device sends for a contact with every field.
const DEVICE_XML: &str = r#"<ApplicationData xmlns="AirSync" xmlns:contacts="Contacts" xmlns:contacts2="Contacts2" xmlns:airsyncbase="AirSyncBase">
<contacts:FileAs>Doe, Jane</contacts:FileAs><contacts:Title>Dr.</contacts:Title>
<contacts:FirstName>Jane</contacts:FirstName><contacts:MiddleName>Q.</contacts:MiddleName>
<contacts:LastName>Doe</contacts:LastName><contacts:Suffix>Jr.</contacts:Suffix>
<contacts:YomiFirstName>ジェーン</contacts:YomiFirstName><contacts:YomiLastName>ドウ</contacts:YomiLastName>
<contacts2:NickName>JJ</contacts2:NickName><contacts:Alias>jdoe</contacts:Alias>
<contacts:WeightedRank>7</contacts:WeightedRank><contacts:CompanyName>Acme</contacts:CompanyName>
<contacts:YomiCompanyName>アクメ</contacts:YomiCompanyName><contacts:Department>R&amp;D</contacts:Department>
<contacts:JobTitle>Tester</contacts:JobTitle><contacts:OfficeLocation>B7</contacts:OfficeLocation>
<contacts2:ManagerName>Max</contacts2:ManagerName><contacts:AssistantName>Anna</contacts:AssistantName>
<contacts:Email1Address>a@x.org</contacts:Email1Address><contacts:Email2Address>b@x.org</contacts:Email2Address>
<contacts:Email3Address>c@x.org</contacts:Email3Address><contacts:WebPage>http://x.org</contacts:WebPage>
<contacts2:IMAddress>im1@x.org</contacts2:IMAddress><contacts2:IMAddress2>im2@x.org</contacts2:IMAddress2>
<contacts2:IMAddress3>im3@x.org</contacts2:IMAddress3><contacts2:MMS>+100</contacts2:MMS>
<contacts:HomePhoneNumber>+101</contacts:HomePhoneNumber><contacts:Home2PhoneNumber>+102</contacts:Home2PhoneNumber>
<contacts:BusinessPhoneNumber>+103</contacts:BusinessPhoneNumber><contacts:Business2PhoneNumber>+104</contacts:Business2PhoneNumber>
<contacts:MobilePhoneNumber>+105</contacts:MobilePhoneNumber><contacts:CarPhoneNumber>+106</contacts:CarPhoneNumber>
<contacts:RadioPhoneNumber>+107</contacts:RadioPhoneNumber><contacts:PagerNumber>+108</contacts:PagerNumber>
<contacts:HomeFaxNumber>+109</contacts:HomeFaxNumber><contacts:BusinessFaxNumber>+110</contacts:BusinessFaxNumber>
<contacts:AssistantPhoneNumber>+111</contacts:AssistantPhoneNumber><contacts2:CompanyMainPhone>+112</contacts2:CompanyMainPhone>
<contacts:HomeAddressStreet>1 Home St</contacts:HomeAddressStreet><contacts:HomeAddressCity>HC</contacts:HomeAddressCity>
<contacts:HomeAddressState>HS</contacts:HomeAddressState><contacts:HomeAddressPostalCode>1</contacts:HomeAddressPostalCode>
<contacts:HomeAddressCountry>HL</contacts:HomeAddressCountry>
<contacts:BusinessAddressStreet>2 Work Rd</contacts:BusinessAddressStreet><contacts:BusinessAddressCity>WC</contacts:BusinessAddressCity>
<contacts:BusinessAddressState>WS</contacts:BusinessAddressState><contacts:BusinessAddressPostalCode>2</contacts:BusinessAddressPostalCode>
<contacts:BusinessAddressCountry>WL</contacts:BusinessAddressCountry>
<contacts:OtherAddressStreet>3 Other Ln</contacts:OtherAddressStreet><contacts:OtherAddressCity>OC</contacts:OtherAddressCity>
<contacts:OtherAddressState>OS</contacts:OtherAddressState><contacts:OtherAddressPostalCode>3</contacts:OtherAddressPostalCode>
<contacts:OtherAddressCountry>OL</contacts:OtherAddressCountry>
<contacts:Birthday>1980-05-04T00:00:00.000Z</contacts:Birthday><contacts:Anniversary>2005-12-31T00:00:00.000Z</contacts:Anniversary>
<contacts:Spouse>John</contacts:Spouse>
<contacts:Children><contacts:Child>Kid1</contacts:Child><contacts:Child>Kid2</contacts:Child></contacts:Children>
<contacts:Categories><contacts:Category>Family</contacts:Category><contacts:Category>VIP</contacts:Category></contacts:Categories>
<contacts2:CustomerId>C1</contacts2:CustomerId><contacts2:GovernmentId>G2</contacts2:GovernmentId>
<contacts2:AccountName>A3</contacts2:AccountName><contacts:Picture>/9j/4AAQ</contacts:Picture>
<airsyncbase:Body><airsyncbase:Type>1</airsyncbase:Type><airsyncbase:EstimatedDataSize>5</airsyncbase:EstimatedDataSize><airsyncbase:Data>notes</airsyncbase:Data></airsyncbase:Body>
</ApplicationData>"#;

fn device_app_data() -> Element {
    xml::from_xml(DEVICE_XML).expect("test XML is valid")
}

#[test]
fn device_xml_names_every_mapped_element() {
    let tags: Vec<Tag> = device_app_data().elements().map(|e| e.tag).collect();
    for f in eas_contact::FIELDS {
        if f.exists_in(Version::V14_1) {
            assert!(
                tags.contains(&f.tag()),
                "{:?} missing from DEVICE_XML",
                f.tag()
            );
        }
    }
}

#[test]
fn eas_model_eas_gives_the_same_elements() {
    let input = wire(&device_app_data());
    let c = eas_contact::from_eas(&input, Version::V14_1);
    assert_eq!(c.first_name.as_deref(), Some("Jane"));
    assert_eq!(c.picture.as_deref(), Some(&b"\xFF\xD8\xFF\xE0\x00\x10"[..]));
    let out = eas_contact::to_eas(&c, Version::V14_1, &[]);
    assert_eq!(sorted(out), sorted(input.elements().cloned().collect()));
}

#[test]
fn eas_model_vcard_model_eas_gives_the_same_elements() {
    let input = wire(&device_app_data());
    let c = eas_contact::from_eas(&input, Version::V14_1);
    let via_vcard = vcard::parse(&vcard::write(&c, "uid-1")).unwrap();
    assert_eq!(via_vcard, c);
    let out = eas_contact::to_eas(&via_vcard, Version::V14_1, &[]);
    assert_eq!(sorted(out), sorted(input.elements().cloned().collect()));
}

#[test]
fn model_vcard_model_keeps_every_field() {
    let c = full_contact();
    let text = vcard::write(&c, "uid-1");
    assert!(text.starts_with("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:uid-1\r\n"));
    assert!(text.split("\r\n").all(|l| l.len() <= 75), "{text}");
    assert_eq!(vcard::parse(&text).unwrap(), c);
}

/// Each field alone survives both mappings: slots that come in pairs
/// (Home2 without Home, Email3 without Email1) keep their place.
#[test]
fn every_field_alone_round_trips() {
    let full = eas_contact::to_eas(&full_contact(), Version::V16_1, &[]);
    assert!(full.len() >= 60, "only {} elements", full.len());
    for element in full {
        let c = eas_contact::from_eas(&app_data(vec![element.clone()]), Version::V16_1);
        assert_ne!(c, Contact::default(), "{:?} not read", element.tag);
        assert_eq!(
            eas_contact::to_eas(&c, Version::V16_1, &[]),
            vec![element.clone()]
        );
        let text = vcard::write(&c, "u");
        assert_eq!(
            vcard::parse(&text).unwrap(),
            c,
            "{:?} via vCard:\n{text}",
            element.tag
        );
    }
}

#[test]
fn version_25_uses_class_body_elements() {
    let c = Contact {
        body: s("héllo world"),
        ..Contact::default()
    };
    let out = eas_contact::to_eas(&c, Version::V2_5, &plain_truncated_at(5));
    assert_eq!(
        out,
        vec![
            Element::text_element(contacts::Body, "héll"),
            Element::text_element(contacts::BodySize, "12"),
            Element::text_element(contacts::BodyTruncated, "1"),
        ]
    );
    let back = eas_contact::from_eas(&app_data(out), Version::V2_5);
    assert_eq!(back.body.as_deref(), Some("héll"));
    let whole = eas_contact::to_eas(&c, Version::V2_5, &[]);
    assert_eq!(
        whole[1],
        Element::text_element(contacts::BodyTruncated, "0")
    );
}

#[test]
fn version_14_truncates_airsyncbase_body() {
    let c = Contact {
        body: s("0123456789"),
        ..Contact::default()
    };
    let out = eas_contact::to_eas(&c, Version::V14_1, &plain_truncated_at(4));
    let body = &out[0];
    assert_eq!(body.tag, airsyncbase::Body);
    assert_eq!(body.text_of(airsyncbase::Type), Some("1"));
    assert_eq!(body.text_of(airsyncbase::EstimatedDataSize), Some("10"));
    assert_eq!(body.text_of(airsyncbase::Truncated), Some("1"));
    assert_eq!(body.text_of(airsyncbase::Data), Some("0123"));
}

#[test]
fn rtf_body_from_a_client_is_not_read_as_text() {
    let body = Element::new(airsyncbase::Body)
        .with_text(airsyncbase::Type, "3")
        .with_text(airsyncbase::Data, "e1xydGYx");
    let c = eas_contact::from_eas(&app_data(vec![body]), Version::V14_1);
    assert_eq!(c.body, None);
}

#[test]
fn elements_of_later_versions_are_neither_read_nor_written() {
    let input = app_data(vec![
        Element::text_element(contacts::Alias, "a"),
        Element::text_element(contacts::WeightedRank, "3"),
    ]);
    assert_eq!(
        eas_contact::from_eas(&input, Version::V12_1),
        Contact::default()
    );
    let c = Contact {
        alias: s("a"),
        ..Contact::default()
    };
    assert!(eas_contact::to_eas(&c, Version::V12_1, &[]).is_empty());
    assert_eq!(eas_contact::to_eas(&c, Version::V14_0, &[]).len(), 1);
}

#[test]
fn empty_elements_read_as_unset() {
    let input = app_data(vec![
        Element::new(contacts::FirstName),
        Element::text_element(contacts::LastName, ""),
        Element::new(contacts::Categories),
    ]);
    assert_eq!(
        eas_contact::from_eas(&input, Version::V14_1),
        Contact::default()
    );
}

#[test]
fn birthday_quirks_give_the_date_the_user_meant() {
    let d = |y, m, day| CalendarDate::new(y, m, day);
    let cases = [
        ("1980-05-04T00:00:00.000Z", d(1980, 5, 4)), // UTC midnight (Exchange, Android)
        ("1980-05-03T22:00:00.000Z", d(1980, 5, 4)), // local midnight at UTC+2 (iOS)
        ("1980-05-03T13:00:00.000Z", d(1980, 5, 4)), // local midnight at UTC+11
        ("1980-05-04T05:00:00.000Z", d(1980, 5, 4)), // local midnight at UTC-5
        ("1980-05-04T12:00:00.000Z", d(1980, 5, 4)), // UTC noon
        ("1980-05-04T10:00:00.000Z", d(1980, 5, 4)), // local noon at UTC+2 (BlackBerry)
        ("1980-05-04T00:00:00Z", d(1980, 5, 4)),     // no fraction
        ("1980-05-04T00:00:00", d(1980, 5, 4)),      // no Z
        ("19800503T220000Z", d(1980, 5, 4)),         // basic form
        ("1980-05-04", d(1980, 5, 4)),               // bare date
        ("1980-12-31T23:00:00.000Z", d(1981, 1, 1)), // year boundary
        ("2000-02-28T23:30:00.000Z", d(2000, 2, 29)), // leap day
        ("not a date", None),
        ("1980-02-30T00:00:00.000Z", None),
    ];
    for (text, want) in cases {
        assert_eq!(eas_contact::parse_eas_date(text), want, "{text}");
    }
    let c = eas_contact::from_eas(
        &app_data(vec![Element::text_element(
            contacts::Birthday,
            "1980-05-03T22:00:00.000Z",
        )]),
        Version::V14_1,
    );
    let out = eas_contact::to_eas(&c, Version::V14_1, &[]);
    assert_eq!(
        out,
        vec![Element::text_element(
            contacts::Birthday,
            "1980-05-04T00:00:00.000Z"
        )]
    );
    assert!(vcard::write(&c, "u").contains("\r\nBDAY:1980-05-04\r\n"));
}

/// Turba 4.2.29's real export (jsonrpc-transcript.txt): every Turba
/// property, most of them empty.
const TURBA_EXPORT: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:20261126221159.oBa3ltJ1vj9P9fyte6YN8w6@127.0.0.1\r\nFN:Jane Doe\r\nNICKNAME:\r\nX-EPOCSECONDNAME:\r\nBDAY:\r\nX-ANNIVERSARY:\r\nX-SPOUSE:\r\nPHOTO:\r\nLABEL;TYPE=HOME:\r\nLABEL;TYPE=WORK:\r\nLABEL:\r\nTZ;VALUE=text:\r\nEMAIL;TYPE=INTERNET:jane@example.com\r\nTEL;TYPE=HOME,VOICE:\r\nTEL;TYPE=FAX,HOME:\r\nTEL;TYPE=WORK,VOICE:\r\nTEL;TYPE=CELL,VOICE:+15550001\r\nTEL;TYPE=FAX:\r\nTEL;TYPE=PAGER:\r\nTITLE:\r\nROLE:\r\nLOGO:\r\nNOTE:\r\nURL:\r\nFBURL:\r\nX-WV-ID:\r\nCATEGORIES:\r\nN:Doe;Jane;;;\r\nORG:;\r\nADR;TYPE=HOME:;;;;;;\r\nADR;TYPE=WORK:;;;;;;\r\nEND:VCARD\r\n";

#[test]
fn turba_export_parses() {
    let c = vcard::parse(TURBA_EXPORT).unwrap();
    assert_eq!(
        c,
        Contact {
            file_as: s("Jane Doe"),
            first_name: s("Jane"),
            last_name: s("Doe"),
            email1_address: s("jane@example.com"),
            mobile_phone_number: s("+15550001"),
            ..Contact::default()
        }
    );
}

#[test]
fn turba_export_with_every_turba_field_parses() {
    let text = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x@h\r\nFN:Dr. Jane Q. Doe\r\n\
NICKNAME:JJ\r\nX-EPOCSECONDNAME:JJ\r\nBDAY:1980-05-04\r\nX-ANNIVERSARY:2005-12-31\r\n\
X-SPOUSE:John\r\nPHOTO;ENCODING=b;TYPE=image/jpeg:/9j/4AAQ\r\n\
LABEL;TYPE=HOME:1 Home St\\nHC\r\nTZ;VALUE=text:Europe/Berlin\r\n\
EMAIL;TYPE=INTERNET:jane@example.com\r\nTEL;TYPE=HOME,VOICE:+101\r\nTEL;TYPE=FAX,HOME:+109\r\n\
TEL;TYPE=WORK,VOICE:+103\r\nTEL;TYPE=CELL,VOICE:+105\r\nTEL;TYPE=FAX:+110\r\nTEL;TYPE=PAGER:+108\r\n\
TITLE:Tester\r\nROLE:QA\r\nNOTE:a\\, b\\nc\r\nURL:http://x.org\r\nX-WV-ID:im@x.org\r\n\
CATEGORIES:Family,VIP\r\nN:Doe;Jane;Q.;Dr.;\r\nORG:Acme;R&D\r\n\
ADR;TYPE=HOME:;;1 Home St;HC;HS;1;DE\r\nADR;TYPE=WORK:PO 5;;2 Work Rd;WC;WS;2;US\r\nEND:VCARD\r\n";
    let c = vcard::parse(text).unwrap();
    assert_eq!(c.nick_name.as_deref(), Some("JJ"));
    assert_eq!(c.birthday, CalendarDate::new(1980, 5, 4));
    assert_eq!(c.anniversary, CalendarDate::new(2005, 12, 31));
    assert_eq!(c.spouse.as_deref(), Some("John"));
    assert_eq!(c.picture.as_deref(), Some(&b"\xFF\xD8\xFF\xE0\x00\x10"[..]));
    assert_eq!(c.home_phone_number.as_deref(), Some("+101"));
    assert_eq!(c.home_fax_number.as_deref(), Some("+109"));
    assert_eq!(c.business_phone_number.as_deref(), Some("+103"));
    assert_eq!(c.mobile_phone_number.as_deref(), Some("+105"));
    assert_eq!(c.business_fax_number.as_deref(), Some("+110"));
    assert_eq!(c.pager_number.as_deref(), Some("+108"));
    assert_eq!(c.job_title.as_deref(), Some("Tester"));
    assert_eq!(c.body.as_deref(), Some("a, b\nc"));
    assert_eq!(c.web_page.as_deref(), Some("http://x.org"));
    assert_eq!(c.im_address.as_deref(), Some("im@x.org"));
    assert_eq!(c.categories, Some(vec!["Family".into(), "VIP".into()]));
    assert_eq!(
        (
            c.title.as_deref(),
            c.first_name.as_deref(),
            c.middle_name.as_deref()
        ),
        (Some("Dr."), Some("Jane"), Some("Q."))
    );
    assert_eq!(c.company_name.as_deref(), Some("Acme"));
    assert_eq!(c.department.as_deref(), Some("R&D"));
    assert_eq!(c.home_address.country.as_deref(), Some("DE"));
    assert_eq!(
        c.business_address.street.as_deref(),
        Some("PO 5\n2 Work Rd")
    );
    assert!(c.other_address.is_empty());
}

#[test]
fn vcard_21_input_is_understood() {
    let text = "BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=\n=FCrgen\n\
TEL;HOME;VOICE:+1\nTEL;WORK;FAX:+2\nTEL;CELL:+3\nEMAIL;INTERNET;PREF:j@x.de\n\
NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Zeile 1=0D=0AZeile 2\n\
PHOTO;JPEG;ENCODING=BASE64:\n /9j/\n 4AAQ\n\nEND:VCARD\n";
    let c = vcard::parse(text).unwrap();
    assert_eq!(c.last_name.as_deref(), Some("Müller"));
    assert_eq!(c.first_name.as_deref(), Some("Jürgen"));
    assert_eq!(c.home_phone_number.as_deref(), Some("+1"));
    assert_eq!(c.business_fax_number.as_deref(), Some("+2"));
    assert_eq!(c.mobile_phone_number.as_deref(), Some("+3"));
    assert_eq!(c.email1_address.as_deref(), Some("j@x.de"));
    assert_eq!(c.body.as_deref(), Some("Zeile 1\r\nZeile 2"));
    assert_eq!(c.picture.as_deref(), Some(&b"\xFF\xD8\xFF\xE0\x00\x10"[..]));
}

#[test]
fn vcard_40_input_is_understood() {
    let text = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:X\r\n\
TEL;VALUE=uri;TYPE=\"cell,voice\":tel:+1-555\r\n\
ANNIVERSARY:20051231\r\nBDAY:--0504\r\nIMPP:xmpp:x@y\r\n\
item1.EMAIL;type=INTERNET;type=WORK:w@x.org\r\n\
PHOTO:data:image/png;base64,iVBORw0KGgo=\r\nEND:VCARD\r\n";
    let c = vcard::parse(text).unwrap();
    assert_eq!(c.mobile_phone_number.as_deref(), Some("+1-555"));
    assert_eq!(c.anniversary, CalendarDate::new(2005, 12, 31));
    assert_eq!(c.birthday, CalendarDate::new(1604, 5, 4));
    assert_eq!(c.im_address.as_deref(), Some("xmpp:x@y"));
    assert_eq!(c.email3_address.as_deref(), Some("w@x.org"));
    assert_eq!(c.picture.as_deref(), Some(&b"\x89PNG\r\n\x1a\n"[..]));
    assert!(vcard::write(&c, "u").contains("PHOTO;ENCODING=b;TYPE=PNG:iVBORw0KGgo=\r\n"));
}

#[test]
fn vcard_write_clears_turba_fields_with_empty_properties() {
    let text = vcard::write(&Contact::default(), "u");
    for line in [
        "FN:",
        "NOTE:",
        "TEL;TYPE=CELL,VOICE:",
        "EMAIL;TYPE=INTERNET:",
        "BDAY:",
        "X-SPOUSE:",
    ] {
        assert!(
            text.contains(&format!("\r\n{line}\r\n")),
            "{line} missing:\n{text}"
        );
    }
    // Turba reads X-EPOCSECONDNAME as the nickname: an empty one would clear it.
    assert!(!text.contains("X-EPOCSECONDNAME"));
    assert_eq!(vcard::parse(&text).unwrap(), Contact::default());
}

#[test]
fn text_without_a_vcard_is_an_error() {
    assert!(vcard::parse("").is_err());
    assert!(vcard::parse("FN:x\r\n").is_err());
}

// ---- ghosting (MS-ASCMD 2.2.3.179, PROTOCOL-NOTES "Ghosting") ----

fn stored() -> Contact {
    Contact {
        first_name: s("Old first"),
        last_name: s("Old last"),
        email2_address: s("keep@x.org"),
        alias: s("alias"),
        body: s("old notes"),
        ..Contact::default()
    }
}

fn change() -> Contact {
    Contact {
        last_name: s("New last"),
        ..Contact::default()
    }
}

#[test]
fn without_supported_omitted_properties_are_cleared() {
    // Alias exists in 14.1, so it is cleared like every other omitted property.
    let merged = eas_contact::merge_change(&stored(), &change(), None, Version::V14_1);
    assert_eq!(merged, change());
}

#[test]
fn with_supported_only_listed_properties_are_cleared() {
    let supported = [contacts::FirstName, contacts::LastName, airsyncbase::Body];
    let merged = eas_contact::merge_change(&stored(), &change(), Some(&supported), Version::V14_1);
    assert_eq!(
        merged,
        Contact {
            last_name: s("New last"),
            email2_address: s("keep@x.org"),
            alias: s("alias"),
            ..Contact::default()
        }
    );
}

#[test]
fn empty_supported_keeps_everything_not_sent() {
    let merged = eas_contact::merge_change(&stored(), &change(), Some(&[]), Version::V14_1);
    assert_eq!(
        merged,
        Contact {
            last_name: s("New last"),
            ..stored()
        }
    );
}

#[test]
fn properties_outside_the_clients_version_are_never_touched() {
    // Alias does not exist before 14.0: a 12.1 client cannot clear it.
    let merged = eas_contact::merge_change(&stored(), &change(), None, Version::V12_1);
    assert_eq!(merged.alias.as_deref(), Some("alias"));
    assert_eq!(merged.first_name, None);
    // A 2.5 client names its body contacts:Body; airsyncbase:Body means nothing to it.
    let merged = eas_contact::merge_change(
        &stored(),
        &change(),
        Some(&[airsyncbase::Body]),
        Version::V2_5,
    );
    assert_eq!(merged.body.as_deref(), Some("old notes"));
    let merged =
        eas_contact::merge_change(&stored(), &change(), Some(&[contacts::Body]), Version::V2_5);
    assert_eq!(merged.body, None);
}

#[test]
fn supported_element_lists_its_tags() {
    let supported = Element::new(airsync::Supported)
        .with(Element::new(contacts::FirstName))
        .with(Element::new(contacts2::NickName));
    assert_eq!(
        ghost::supported_tags(&supported),
        vec![contacts::FirstName, contacts2::NickName]
    );
}

// ---- robustness ----

proptest! {
    #[test]
    fn malformed_vcards_never_panic(text in "\\PC{0,300}") {
        let _ = vcard::parse(&text);
        let _ = vcard::parse(&format!("BEGIN:VCARD\r\n{text}\r\nEND:VCARD\r\n"));
    }

    #[test]
    fn structured_junk_never_panics(
        lines in proptest::collection::vec(
            "(N|ADR|TEL|EMAIL|PHOTO|BDAY|X-ANNIVERSARY|CATEGORIES|ORG|NOTE)(;[A-Z=,\"a-z-]{0,20}){0,3}:[\\PC]{0,40}",
            0..20,
        )
    ) {
        let text = format!("BEGIN:VCARD\r\n{}\r\nEND:VCARD\r\n", lines.join("\r\n"));
        let _ = vcard::parse(&text);
    }

    #[test]
    fn arbitrary_text_survives_both_mappings(
        first in "[^\r]{1,40}",
        note in "[^\r]{1,80}",
        street in "[^\r]{1,40}",
    ) {
        let c = Contact {
            first_name: Some(first),
            body: Some(note),
            home_address: Address { street: Some(street), ..Address::default() },
            ..Contact::default()
        };
        prop_assert_eq!(vcard::parse(&vcard::write(&c, "u")).unwrap(), c.clone());
        let eas = app_data(eas_contact::to_eas(&c, Version::V16_1, &[]));
        prop_assert_eq!(eas_contact::from_eas(&wire(&eas), Version::V16_1), c);
    }
}

/// `vcard::write(full_contact())` imported into Debian 12's Turba 4.2.29
/// and exported again over JSON-RPC: what the README says Turba keeps.
#[test]
fn what_real_turba_keeps_of_a_full_contact() {
    let text = include_str!("data/turba-4.2.29-export-full.vcf");
    let got = vcard::parse(text).unwrap();
    let sent = full_contact();
    let address_without_country = |a: &Address| Address {
        country: None,
        ..a.clone()
    };
    let kept = Contact {
        file_as: s("Dr. Jane Q. Doe Jr."), // rebuilt by Turba
        title: sent.title.clone(),
        first_name: sent.first_name.clone(),
        middle_name: sent.middle_name.clone(),
        last_name: sent.last_name.clone(),
        suffix: sent.suffix.clone(),
        nick_name: sent.nick_name.clone(),
        company_name: sent.company_name.clone(),
        department: sent.department.clone(),
        job_title: sent.job_title.clone(),
        email1_address: sent.email1_address.clone(),
        web_page: sent.web_page.clone(),
        im_address: sent.im_address.clone(),
        home_phone_number: sent.home_phone_number.clone(),
        business_phone_number: sent.business_phone_number.clone(),
        mobile_phone_number: sent.mobile_phone_number.clone(),
        pager_number: sent.pager_number.clone(),
        home_fax_number: sent.home_fax_number.clone(),
        business_fax_number: sent.business_fax_number.clone(),
        // "Homeland" is not in Horde's country list: it comes back empty.
        home_address: address_without_country(&sent.home_address),
        business_address: address_without_country(&sent.business_address),
        birthday: sent.birthday,
        anniversary: sent.anniversary,
        spouse: sent.spouse.clone(),
        categories: sent.categories.clone(),
        body: sent.body.clone(),
        picture: sent.picture.clone(),
        ..Contact::default()
    };
    assert_eq!(got, kept);
}

proptest! {
    /// The documented rule: a client's local midnight, for any offset from
    /// UTC-12 to UTC+11 (in quarter hours), reads as the date it meant; our
    /// own form reads back unchanged.
    #[test]
    fn local_midnight_from_utc_minus_12_to_plus_11_reads_as_the_meant_date(
        days in 0i64..80_000,
        quarter_hours in -48i64..=44,
    ) {
        let meant = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Duration::days(days);
        let utc = meant.and_hms_opt(0, 0, 0).unwrap() - chrono::Duration::minutes(quarter_hours * 15);
        let sent = utc.format("%Y-%m-%dT%H:%M:%S.000Z").to_string();
        let date = CalendarDate::from_naive(meant);
        prop_assert_eq!(eas_contact::parse_eas_date(&sent), Some(date), "{}", sent);
        prop_assert_eq!(eas_contact::parse_eas_date(&eas_contact::format_eas_date(date)), Some(date));
    }
}
