//! A contact: every element of MS-ASCNTC (Contacts and Contacts2 code pages)
//! plus the plain-text body.
//!
//! Every field is an `Option` (or an `Option<Vec>`): `None` means "not sent /
//! not known", which the ghosting rules (MS-ASCMD 2.2.3.179 `Supported`) need
//! to tell apart from a value. Empty strings and lists never appear: converters map an
//! empty element to `None`.
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    // Names
    pub file_as: Option<String>,
    /// Name prefix ("Dr."); the spec calls it `Title`.
    pub title: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub suffix: Option<String>,
    pub yomi_first_name: Option<String>,
    pub yomi_last_name: Option<String>,
    /// Contacts2:NickName.
    pub nick_name: Option<String>,
    /// Only in recipient information cache responses (14.0+).
    pub alias: Option<String>,
    /// Only in recipient information cache responses (14.0+).
    pub weighted_rank: Option<u32>,

    // Company
    pub company_name: Option<String>,
    pub yomi_company_name: Option<String>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub office_location: Option<String>,
    /// Contacts2:ManagerName.
    pub manager_name: Option<String>,
    pub assistant_name: Option<String>,

    // E-mail, web, messaging
    pub email1_address: Option<String>,
    pub email2_address: Option<String>,
    pub email3_address: Option<String>,
    pub web_page: Option<String>,
    /// Contacts2:IMAddress, IMAddress2, IMAddress3.
    pub im_address: Option<String>,
    pub im_address2: Option<String>,
    pub im_address3: Option<String>,
    /// Contacts2:MMS.
    pub mms: Option<String>,

    // Phones
    pub home_phone_number: Option<String>,
    pub home2_phone_number: Option<String>,
    pub business_phone_number: Option<String>,
    pub business2_phone_number: Option<String>,
    pub mobile_phone_number: Option<String>,
    pub car_phone_number: Option<String>,
    pub radio_phone_number: Option<String>,
    pub pager_number: Option<String>,
    pub home_fax_number: Option<String>,
    pub business_fax_number: Option<String>,
    /// The spec's tag is spelled `AssistnamePhoneNumber`.
    pub assistant_phone_number: Option<String>,
    /// Contacts2:CompanyMainPhone.
    pub company_main_phone: Option<String>,

    // Addresses
    pub home_address: Address,
    pub business_address: Address,
    pub other_address: Address,

    // Personal
    pub birthday: Option<CalendarDate>,
    pub anniversary: Option<CalendarDate>,
    pub spouse: Option<String>,
    pub children: Option<Vec<String>>,
    pub categories: Option<Vec<String>>,

    // Contacts2 identifiers that clients use as custom fields
    pub customer_id: Option<String>,
    pub government_id: Option<String>,
    pub account_name: Option<String>,

    /// Plain-text notes (AirSyncBase Body type 1, or Contacts:Body in 2.5).
    /// RTF (`CompressedRTF`, Body type 3) is not kept.
    pub body: Option<String>,
    /// The picture's raw bytes (base64 on the wire and in vCard).
    pub picture: Option<Vec<u8>>,
}

/// One postal address; the street may span several lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

impl Address {
    pub fn is_empty(&self) -> bool {
        *self == Address::default()
    }
}

/// A calendar date without time or zone: what a birthday or anniversary
/// means. Serialized as `YYYY-MM-DD`. How the wire forms map to it is decided
/// in `convert::eas_contact` (EAS date-times) and `convert::vcard` (BDAY).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CalendarDate(chrono::NaiveDate);

impl CalendarDate {
    /// `None` for an impossible date (month 13, February 30, ...).
    pub fn new(year: i32, month: u32, day: u32) -> Option<CalendarDate> {
        chrono::NaiveDate::from_ymd_opt(year, month, day).map(CalendarDate)
    }

    pub fn naive(self) -> chrono::NaiveDate {
        self.0
    }

    pub fn from_naive(date: chrono::NaiveDate) -> CalendarDate {
        CalendarDate(date)
    }
}

impl fmt::Display for CalendarDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl fmt::Debug for CalendarDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CalendarDate({self})")
    }
}

impl FromStr for CalendarDate {
    type Err = chrono::ParseError;
    /// Strictly `YYYY-MM-DD`.
    fn from_str(s: &str) -> Result<CalendarDate, Self::Err> {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map(CalendarDate)
    }
}

impl Serialize for CalendarDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CalendarDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<CalendarDate, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
