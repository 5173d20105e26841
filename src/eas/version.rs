//! ActiveSync protocol versions and every behaviour that differs between
//! them. A version difference is asked here (`version.provision_status_in_body()`),
//! never spelled as a comparison in a command.

use std::fmt;
use std::str::FromStr;

/// The protocol versions of MS-ASHTTP 2.2.1.1.2.6, oldest first (so `Ord`
/// follows the protocol's history).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    V2_5,
    V12_0,
    V12_1,
    V14_0,
    V14_1,
    V16_0,
    V16_1,
}

/// Every version, oldest first.
pub const ALL: [Version; 7] = [
    Version::V2_5,
    Version::V12_0,
    Version::V12_1,
    Version::V14_0,
    Version::V14_1,
    Version::V16_0,
    Version::V16_1,
];

impl Version {
    /// The wire form used in headers: `"14.1"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2_5 => "2.5",
            Version::V12_0 => "12.0",
            Version::V12_1 => "12.1",
            Version::V14_0 => "14.0",
            Version::V14_1 => "14.1",
            Version::V16_0 => "16.0",
            Version::V16_1 => "16.1",
        }
    }

    /// The "Protocol version" byte of the base64-encoded query
    /// (MS-ASHTTP 2.2.1.1.1.1: the version times ten, e.g. 141 for 14.1).
    pub fn from_query_byte(b: u8) -> Option<Version> {
        ALL.into_iter().find(|v| v.query_byte() == b)
    }

    /// Inverse of [`Version::from_query_byte`].
    pub fn query_byte(self) -> u8 {
        match self {
            Version::V2_5 => 25,
            Version::V12_0 => 120,
            Version::V12_1 => 121,
            Version::V14_0 => 140,
            Version::V14_1 => 141,
            Version::V16_0 => 160,
            Version::V16_1 => 161,
        }
    }

    /// The base64-encoded query form exists from 12.1 on (MS-ASHTTP 2.2.1.1.1.1).
    pub fn base64_query_allowed(self) -> bool {
        self >= Version::V12_1
    }

    /// Bodies are `airsyncbase:Body` from 12.0 on (MS-ASAIRS); 2.5 uses the
    /// per-class `Body`/`BodyTruncated` elements.
    pub fn uses_airsyncbase_body(self) -> bool {
        self >= Version::V12_0
    }

    /// From 14.0 an unprovisioned device is told with Status 142/143/144 (140
    /// for a wipe) inside the command's response; before, with HTTP 449
    /// (MS-ASPROV 3.1.5.1).
    pub fn provision_status_in_body(self) -> bool {
        self >= Version::V14_0
    }

    /// From 14.1 the first Provision request carries `settings:DeviceInformation`.
    pub fn has_device_information_in_provision(self) -> bool {
        self >= Version::V14_1
    }

    /// The policy document format of Provision (MS-ASPROV 2.2.2.43): the WAP
    /// provisioning XML for 2.5, the WBXML `EASProvisionDoc` from 12.0.
    pub fn policy_type(self) -> &'static str {
        if self >= Version::V12_0 {
            "MS-EAS-Provisioning-WBXML"
        } else {
            "MS-WAP-Provisioning-XML"
        }
    }

    /// 12.0 knows only the first twelve `EASProvisionDoc` settings (through
    /// `DevicePasswordHistory`); the others exist from 12.1 (MS-ASPROV 2.2.2).
    pub fn full_policy_document(self) -> bool {
        self >= Version::V12_1
    }

    /// From 16.0 an initial Provision without `settings:DeviceInformation`
    /// is answered with Status 165 (MS-ASCMD 2.2.2 DeviceInformationRequired).
    pub fn device_information_required_in_provision(self) -> bool {
        self >= Version::V16_0
    }

    /// `AccountOnlyRemoteWipe` exists from 16.1 (MS-ASPROV 2.2.2.1).
    pub fn account_only_remote_wipe(self) -> bool {
        self >= Version::V16_1
    }

    /// From 14.0 request-level failures (bad WBXML, unknown device, server
    /// error) are reported with the common status codes of MS-ASCMD 2.2.2 in
    /// the command's own Status element rather than bare HTTP errors.
    /// 2.5 names the class of a Sync collection in the response
    /// (AirSync:Class); later versions leave it out.
    pub fn sync_response_has_class(self) -> bool {
        self == Version::V2_5
    }

    pub fn common_status_codes(self) -> bool {
        self >= Version::V14_0
    }

    /// Email flags (email:Flag) and ContentClass exist from 12.0 (MS-ASEMAIL 2.2.2.34).
    pub fn email_flags(self) -> bool {
        self >= Version::V12_0
    }

    /// SendMail/SmartReply/SmartForward bodies are ComposeMail WBXML from
    /// 14.0; before, the body is the RFC 822 message itself (MS-ASCMD 2.2.1.16).
    pub fn compose_mail_wbxml(self) -> bool {
        self >= Version::V14_0
    }

    /// Email categories and Email2 conversation ids exist from 14.0 (MS-ASEMAIL).
    pub fn email_conversations(self) -> bool {
        self >= Version::V14_0
    }

    /// Email2:LastVerbExecuted and LastVerbExecutionTime (the reply state of
    /// a message) exist from 14.0 (MS-ASEMAIL 2.2.2.44, 2.2.2.45).
    pub fn email_last_verb(self) -> bool {
        self >= Version::V14_0
    }

    /// Settings UserInformation answers with `Accounts` (one `Account` with
    /// `UserDisplayName` and `PrimarySmtpAddress`) from 14.1; before, with a
    /// bare list of `SMTPAddress` (MS-ASCMD 2.2.3.2, 2.2.3.57).
    pub fn user_information_has_accounts(self) -> bool {
        self >= Version::V14_1
    }

    /// Search GAL and ResolveRecipients return contact photos (`Picture`
    /// with `MaxSize`/`MaxPictures`) from 14.1 (MS-ASCMD 2.2.3.135).
    pub fn has_contact_pictures(self) -> bool {
        self >= Version::V14_1
    }

    /// ResolveRecipients answers `Availability` (free/busy) from 14.0
    /// (MS-ASCMD 2.2.3.16).
    pub fn has_availability(self) -> bool {
        self >= Version::V14_0
    }

    /// MeetingResponse names one occurrence of a recurring meeting with
    /// `InstanceId` from 14.1; in 12.1 and 14.0 it is an invalid request
    /// (MS-ASCMD 2.2.3.92.1).
    pub fn meeting_response_instance_id(self) -> bool {
        self >= Version::V14_1
    }

    /// From 16.0 the server mails the answer to the organizer when the
    /// MeetingResponse asks with `SendResponse`; before, the client sends
    /// its own answer with SendMail (MS-ASCMD 2.2.1.11).
    pub fn meeting_response_sends_mail(self) -> bool {
        self >= Version::V16_0
    }

    /// The Find command exists from 16.1 (MS-ASCMD 2.2.1.2).
    pub fn has_find(self) -> bool {
        self >= Version::V16_1
    }

    /// Settings RightsManagementInformation exists from 14.1 (MS-ASCMD 2.2.3.156).
    pub fn has_rights_management(self) -> bool {
        self >= Version::V14_1
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A version string no version of the protocol has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ActiveSync protocol version {0:?}")]
pub struct UnknownVersion(pub String);

impl FromStr for Version {
    type Err = UnknownVersion;
    fn from_str(s: &str) -> Result<Version, UnknownVersion> {
        let s = s.trim();
        ALL.into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownVersion(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_displays_and_orders() {
        for v in ALL {
            assert_eq!(v.as_str().parse::<Version>(), Ok(v));
            assert_eq!(v.to_string(), v.as_str());
            assert_eq!(Version::from_query_byte(v.query_byte()), Some(v));
        }
        assert!(Version::V2_5 < Version::V12_0 && Version::V14_1 < Version::V16_0);
        assert!("14.2".parse::<Version>().is_err());
        assert!("".parse::<Version>().is_err());
        assert_eq!(Version::from_query_byte(100), None);
    }

    #[test]
    fn capabilities_follow_the_spec_thresholds() {
        assert!(!Version::V12_0.base64_query_allowed());
        assert!(Version::V12_1.base64_query_allowed());
        assert!(!Version::V12_1.provision_status_in_body());
        assert!(Version::V14_0.provision_status_in_body());
        assert!(!Version::V14_0.has_device_information_in_provision());
        assert!(Version::V14_1.has_device_information_in_provision());
        assert!(!Version::V2_5.uses_airsyncbase_body());
        assert!(!Version::V14_0.meeting_response_instance_id());
        assert!(Version::V14_1.meeting_response_instance_id());
        assert!(!Version::V14_1.meeting_response_sends_mail());
        assert!(Version::V16_0.meeting_response_sends_mail());
    }
}
