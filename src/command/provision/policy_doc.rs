//! The policy documents of MS-ASPROV built from `[policies]`: the WBXML
//! `EASProvisionDoc` (12.0+) and the WAP provisioning XML string (2.5), and
//! the fingerprint that ties a device's policy key to one policy set.

use crate::config::Policies;
use crate::eas::version::Version;
use crate::wbxml::codepages::provision as p;
use crate::wbxml::{Element, Tag};

/// `Data` content for the version: the `EASProvisionDoc` element, or for
/// 2.5 the WAP provisioning XML as text.
pub fn data(policies: &Policies, version: Version) -> Element {
    if version.policy_type() == WAP_POLICY_TYPE {
        Element::text_element(p::Data, wap_provisioning_xml(policies))
    } else {
        Element::new(p::Data).with(eas_provision_doc(policies, version))
    }
}

const WAP_POLICY_TYPE: &str = "MS-WAP-Provisioning-XML";

/// `EASProvisionDoc` (MS-ASPROV 2.2.2.27) in schema order. A limit of 0
/// ("none" in `[policies]`) is sent as an empty element, which the spec
/// defines as "no limit" for these settings.
pub fn eas_provision_doc(policies: &Policies, version: Version) -> Element {
    let pol = policies;
    let flag = |v: bool| Some(if v { "1" } else { "0" }.to_string());
    let num = |v: u32| Some(v.to_string());
    let limit = |v: u32| (v != 0).then(|| v.to_string());
    let mut settings: Vec<(Tag, Option<String>)> = vec![
        (p::DevicePasswordEnabled, flag(pol.device_password_enabled)),
        (
            p::AlphanumericDevicePasswordRequired,
            flag(pol.alphanumeric_device_password_required),
        ),
        (
            p::PasswordRecoveryEnabled,
            flag(pol.password_recovery_enabled),
        ),
        (
            p::RequireStorageCardEncryption,
            flag(pol.require_storage_card_encryption),
        ),
        (p::AttachmentsEnabled, flag(pol.attachments_enabled)),
        (
            p::MinDevicePasswordLength,
            num(pol.min_device_password_length),
        ),
        (
            p::MaxInactivityTimeDeviceLock,
            limit(pol.max_inactivity_time_device_lock),
        ),
        (
            p::MaxDevicePasswordFailedAttempts,
            limit(pol.max_device_password_failed_attempts),
        ),
        (p::MaxAttachmentSize, limit(pol.max_attachment_size)),
        (
            p::AllowSimpleDevicePassword,
            flag(pol.allow_simple_device_password),
        ),
        (
            p::DevicePasswordExpiration,
            limit(pol.device_password_expiration),
        ),
        (p::DevicePasswordHistory, num(pol.device_password_history)),
    ];
    if version.full_policy_document() {
        settings.extend([
            (p::AllowStorageCard, flag(pol.allow_storage_card)),
            (p::AllowCamera, flag(pol.allow_camera)),
            (
                p::RequireDeviceEncryption,
                flag(pol.require_device_encryption),
            ),
            (
                p::AllowUnsignedApplications,
                flag(pol.allow_unsigned_applications),
            ),
            (
                p::AllowUnsignedInstallationPackages,
                flag(pol.allow_unsigned_installation_packages),
            ),
            (
                p::MinDevicePasswordComplexCharacters,
                num(pol.min_device_password_complex_characters),
            ),
            (p::AllowWiFi, flag(pol.allow_wifi)),
            (p::AllowTextMessaging, flag(pol.allow_text_messaging)),
            (p::AllowPOPIMAPEmail, flag(pol.allow_pop_imap_email)),
            (p::AllowBluetooth, num(pol.allow_bluetooth)),
            (p::AllowIrDA, flag(pol.allow_irda)),
            (
                p::RequireManualSyncWhenRoaming,
                flag(pol.require_manual_sync_when_roaming),
            ),
            (p::AllowDesktopSync, flag(pol.allow_desktop_sync)),
            (p::MaxCalendarAgeFilter, num(pol.max_calendar_age_filter)),
            (p::AllowHTMLEmail, flag(pol.allow_html_email)),
            (p::MaxEmailAgeFilter, num(pol.max_email_age_filter)),
            (
                p::MaxEmailBodyTruncationSize,
                Some(pol.max_email_body_truncation_size.to_string()),
            ),
            (
                p::MaxEmailHTMLBodyTruncationSize,
                Some(pol.max_email_html_body_truncation_size.to_string()),
            ),
            (
                p::RequireSignedSMIMEMessages,
                flag(pol.require_signed_smime_messages),
            ),
            (
                p::RequireEncryptedSMIMEMessages,
                flag(pol.require_encrypted_smime_messages),
            ),
            (
                p::RequireSignedSMIMEAlgorithm,
                num(pol.require_signed_smime_algorithm),
            ),
            (
                p::RequireEncryptionSMIMEAlgorithm,
                num(pol.require_encryption_smime_algorithm),
            ),
            (
                p::AllowSMIMEEncryptionAlgorithmNegotiation,
                num(pol.allow_smime_encryption_algorithm_negotiation),
            ),
            (p::AllowSMIMESoftCerts, flag(pol.allow_smime_soft_certs)),
            (p::AllowBrowser, flag(pol.allow_browser)),
            (p::AllowConsumerEmail, flag(pol.allow_consumer_email)),
            (p::AllowRemoteDesktop, flag(pol.allow_remote_desktop)),
            (p::AllowInternetSharing, flag(pol.allow_internet_sharing)),
        ]);
    }
    let mut doc = Element::new(p::EASProvisionDoc);
    for (tag, value) in settings {
        doc.push(match value {
            Some(v) => Element::text_element(tag, v),
            None => Element::new(tag),
        });
    }
    doc
}

/// The 2.5 policy (MS-ASPROV 2.2.2.24.2): security policy 4131 (0 = a
/// password is required), inactivity lock in minutes, wipe threshold
/// (-1 = none), codeword prompt, minimum length and complexity (0 =
/// alphanumeric required, 2 = a simple PIN is enough).
pub fn wap_provisioning_xml(pol: &Policies) -> String {
    let lock_minutes = pol.max_inactivity_time_device_lock.div_ceil(60);
    let wipe_threshold = match pol.max_device_password_failed_attempts {
        0 => -1,
        n => i64::from(n),
    };
    // Ask for the codeword halfway to the wipe, as Windows Mobile suggests.
    let codeword = if wipe_threshold < 0 {
        -1
    } else {
        (wipe_threshold + 1) / 2
    };
    let complexity = if pol.alphanumeric_device_password_required {
        0
    } else {
        2
    };
    let registry = [
        (
            "HKLM\\Comm\\Security\\Policy\\LASSD\\AE\\{50C13377-C66D-400C-889E-C316FC4AB374}",
            vec![
                ("AEFrequencyType", i64::from(lock_minutes > 0)),
                ("AEFrequencyValue", i64::from(lock_minutes)),
            ],
        ),
        (
            "HKLM\\Comm\\Security\\Policy\\LASSD",
            vec![("DeviceWipeThreshold", wipe_threshold)],
        ),
        (
            "HKLM\\Comm\\Security\\Policy\\LASSD",
            vec![("CodewordFrequency", codeword)],
        ),
        (
            "HKLM\\Comm\\Security\\Policy\\LASSD\\LAP\\lap_pw",
            vec![(
                "MinimumPasswordLength",
                i64::from(pol.min_device_password_length),
            )],
        ),
        (
            "HKLM\\Comm\\Security\\Policy\\LASSD\\LAP\\lap_pw",
            vec![("PasswordComplexity", complexity)],
        ),
    ];
    let mut xml = String::from("<wap-provisioningdoc>");
    xml.push_str("<characteristic type=\"SecurityPolicy\">");
    let required = if pol.device_password_enabled { 0 } else { 1 };
    xml.push_str(&format!("<parm name=\"4131\" value=\"{required}\"/>"));
    xml.push_str("</characteristic><characteristic type=\"Registry\">");
    for (key, parms) in registry {
        xml.push_str(&format!("<characteristic type=\"{key}\">"));
        for (name, value) in parms {
            xml.push_str(&format!("<parm name=\"{name}\" value=\"{value}\"/>"));
        }
        xml.push_str("</characteristic>");
    }
    xml.push_str("</characteristic></wap-provisioningdoc>");
    xml
}

/// A stable fingerprint of a policy set (FNV-1a 64 over its JSON form, whose
/// field order is fixed by the struct). Stored next to a device's policy key:
/// when `[policies]` change, the fingerprint changes and the key is stale.
pub fn fingerprint(policies: &Policies) -> String {
    let json = serde_json::to_string(policies).unwrap_or_default();
    let hash = json.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wbxml::codepages::name_of;

    fn names(doc: &Element) -> Vec<&'static str> {
        doc.elements().map(|e| name_of(e.tag).unwrap().1).collect()
    }

    #[test]
    fn twelve_settings_for_12_0_all_for_12_1_and_later() {
        let pol = Policies::default();
        let short = eas_provision_doc(&pol, Version::V12_0);
        assert_eq!(short.elements().count(), 12);
        assert_eq!(names(&short).last(), Some(&"DevicePasswordHistory"));
        for v in [Version::V12_1, Version::V14_1, Version::V16_1] {
            let full = eas_provision_doc(&pol, v);
            assert_eq!(full.elements().count(), 40, "{v}");
            assert_eq!(names(&full).last(), Some(&"AllowInternetSharing"));
        }
    }

    #[test]
    fn configured_values_reach_the_document() {
        let pol = Policies {
            device_password_enabled: true,
            min_device_password_length: 6,
            max_device_password_failed_attempts: 0,
            allow_camera: false,
            allow_bluetooth: 1,
            max_email_body_truncation_size: -1,
            ..Policies::default()
        };
        let doc = eas_provision_doc(&pol, Version::V14_1);
        assert_eq!(doc.text_of(p::DevicePasswordEnabled), Some("1"));
        assert_eq!(doc.text_of(p::MinDevicePasswordLength), Some("6"));
        assert_eq!(doc.text_of(p::AllowCamera), Some("0"));
        assert_eq!(doc.text_of(p::AllowBluetooth), Some("1"));
        assert_eq!(doc.text_of(p::MaxEmailBodyTruncationSize), Some("-1"));
        let unlimited = doc.child(p::MaxDevicePasswordFailedAttempts).unwrap();
        assert!(
            unlimited.children.is_empty(),
            "0 = no limit = empty element"
        );
    }

    #[test]
    fn version_2_5_gets_wap_xml_text() {
        let pol = Policies {
            device_password_enabled: true,
            alphanumeric_device_password_required: true,
            min_device_password_length: 5,
            max_inactivity_time_device_lock: 900,
            max_device_password_failed_attempts: 8,
            ..Policies::default()
        };
        let data = data(&pol, Version::V2_5);
        let xml = data.text().unwrap();
        assert!(xml.starts_with("<wap-provisioningdoc>"));
        assert!(xml.contains("<parm name=\"4131\" value=\"0\"/>"));
        assert!(xml.contains("<parm name=\"AEFrequencyValue\" value=\"15\"/>"));
        assert!(xml.contains("<parm name=\"DeviceWipeThreshold\" value=\"8\"/>"));
        assert!(xml.contains("<parm name=\"MinimumPasswordLength\" value=\"5\"/>"));
        assert!(xml.contains("<parm name=\"PasswordComplexity\" value=\"0\"/>"));
        assert!(quick_xml::Reader::from_str(xml).read_event().is_ok());
        let off = wap_provisioning_xml(&Policies::default());
        assert!(off.contains("<parm name=\"4131\" value=\"1\"/>"));
        let wbxml = super::data(&pol, Version::V12_0);
        assert!(wbxml.has(p::EASProvisionDoc));
    }

    #[test]
    fn fingerprint_follows_the_policy_set() {
        let a = Policies::default();
        let b = Policies {
            allow_camera: false,
            ..Policies::default()
        };
        assert_eq!(fingerprint(&a), fingerprint(&a.clone()));
        assert_ne!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fingerprint(&a).len(), 16);
    }
}
