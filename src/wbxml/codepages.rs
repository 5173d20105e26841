//! The ActiveSync code pages 0-25 (MS-ASWBXML section 2.1.2.1), with every
//! tag defined up to protocol 16.1 (tokens of older versions that were later
//! dropped are kept: a 2.5 client still sends them).
//!
//! One module per code page holds a constant per tag, named exactly as in the
//! specification: `airsync::SyncKey`, `folderhierarchy::Status`, ... Page 5
//! ("Move") is the module [`mov`] because `move` is a Rust keyword; page 6
//! ("GetItemEstimate") is [`itemestimate`].
//!
//! The constants and the lookup tables ([`name_of`], [`tag_of`],
//! [`page_name`], [`page_of`]) are generated from the single list at the end
//! of this file, so they cannot disagree. A token used twice on a page, or
//! outside 0x05..=0x3F, is a compile error.
use super::Tag;

/// One code page: its number, its namespace name and its (token, tag) pairs.
struct Page {
    number: u8,
    namespace: &'static str,
    /// Tag name by token (index = token, 0..64).
    names: [Option<&'static str>; 64],
    /// The tags in specification order, for name lookups.
    tags: &'static [(u8, &'static str)],
}

/// Builds the token-indexed name table of a page; fails the build on a
/// duplicate token or a token outside the tag range.
const fn token_table(tags: &[(u8, &'static str)]) -> [Option<&'static str>; 64] {
    let mut table = [None; 64];
    let mut i = 0;
    while i < tags.len() {
        let (token, name) = tags[i];
        assert!(token >= 0x05 && token <= 0x3F, "tag token out of range");
        assert!(table[token as usize].is_none(), "duplicate token on a page");
        table[token as usize] = Some(name);
        i += 1;
    }
    table
}

macro_rules! code_pages {
    ($( $page:literal $module:ident $namespace:literal {
        $( $name:ident = $token:literal ),* $(,)?
    } )*) => {
        $(
            #[doc = concat!("Code page ", stringify!($page), ": ", $namespace, ".")]
            pub mod $module {
                #![allow(non_upper_case_globals)]
                use super::Tag;
                /// The namespace (code page name) of this page.
                pub const NAMESPACE: &str = $namespace;
                /// The code page number.
                pub const PAGE: u8 = $page;
                $(
                    #[doc = concat!("`", $namespace, ":", stringify!($name), "` (token ", stringify!($token), ")")]
                    pub const $name: Tag = Tag::new($page, $token);
                )*
                pub(super) const TAGS: &[(u8, &str)] = &[$( ($token, stringify!($name)) ),*];
            }
        )*

        static PAGES: &[Page] = &[$(
            Page {
                number: $page,
                namespace: $namespace,
                names: token_table($module::TAGS),
                tags: $module::TAGS,
            }
        ),*];
    };
}

/// The page with this number (pages are listed in order, 0..=25).
fn page(number: u8) -> Option<&'static Page> {
    PAGES.get(number as usize).filter(|p| p.number == number)
}

/// (namespace, tag name) of a tag, e.g. `("AirSync", "SyncKey")`.
pub fn name_of(tag: Tag) -> Option<(&'static str, &'static str)> {
    let p = page(tag.page())?;
    let name = (*p.names.get(tag.token() as usize)?)?;
    Some((p.namespace, name))
}

/// The tag with this namespace (code page name) and tag name.
pub fn tag_of(namespace: &str, name: &str) -> Option<Tag> {
    let p = PAGES.iter().find(|p| p.namespace == namespace)?;
    p.tags
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(token, _)| Tag::new(p.number, *token))
}

/// The namespace name of a code page number, e.g. `Some("AirSyncBase")` for 17.
pub fn page_name(number: u8) -> Option<&'static str> {
    page(number).map(|p| p.namespace)
}

/// The code page number of a namespace name, e.g. `Some(17)` for "AirSyncBase".
pub fn page_of(namespace: &str) -> Option<u8> {
    PAGES
        .iter()
        .find(|p| p.namespace == namespace)
        .map(|p| p.number)
}

/// True when the tag is defined (its page exists and knows its token).
pub fn is_known(tag: Tag) -> bool {
    name_of(tag).is_some()
}

/// Every tag of every page, in page and specification order.
pub fn all_tags() -> impl Iterator<Item = Tag> {
    PAGES
        .iter()
        .flat_map(|p| p.tags.iter().map(move |(t, _)| Tag::new(p.number, *t)))
}

code_pages! {
    0 airsync "AirSync" {
        Sync = 0x05, Responses = 0x06, Add = 0x07, Change = 0x08, Delete = 0x09,
        Fetch = 0x0A, SyncKey = 0x0B, ClientId = 0x0C, ServerId = 0x0D, Status = 0x0E,
        Collection = 0x0F, Class = 0x10, CollectionId = 0x12, GetChanges = 0x13,
        MoreAvailable = 0x14, WindowSize = 0x15, Commands = 0x16, Options = 0x17,
        FilterType = 0x18, Truncation = 0x19, Conflict = 0x1B, Collections = 0x1C,
        ApplicationData = 0x1D, DeletesAsMoves = 0x1E, Supported = 0x20, SoftDelete = 0x21,
        MIMESupport = 0x22, MIMETruncation = 0x23, Wait = 0x24, Limit = 0x25, Partial = 0x26,
        ConversationMode = 0x27, MaxItems = 0x28, HeartbeatInterval = 0x29,
    }
    1 contacts "Contacts" {
        Anniversary = 0x05, AssistantName = 0x06, AssistantPhoneNumber = 0x07, Birthday = 0x08,
        Body = 0x09, BodySize = 0x0A, BodyTruncated = 0x0B, Business2PhoneNumber = 0x0C,
        BusinessAddressCity = 0x0D, BusinessAddressCountry = 0x0E,
        BusinessAddressPostalCode = 0x0F, BusinessAddressState = 0x10,
        BusinessAddressStreet = 0x11, BusinessFaxNumber = 0x12, BusinessPhoneNumber = 0x13,
        CarPhoneNumber = 0x14, Categories = 0x15, Category = 0x16, Children = 0x17, Child = 0x18,
        CompanyName = 0x19, Department = 0x1A, Email1Address = 0x1B, Email2Address = 0x1C,
        Email3Address = 0x1D, FileAs = 0x1E, FirstName = 0x1F, Home2PhoneNumber = 0x20,
        HomeAddressCity = 0x21, HomeAddressCountry = 0x22, HomeAddressPostalCode = 0x23,
        HomeAddressState = 0x24, HomeAddressStreet = 0x25, HomeFaxNumber = 0x26,
        HomePhoneNumber = 0x27, JobTitle = 0x28, LastName = 0x29, MiddleName = 0x2A,
        MobilePhoneNumber = 0x2B, OfficeLocation = 0x2C, OtherAddressCity = 0x2D,
        OtherAddressCountry = 0x2E, OtherAddressPostalCode = 0x2F, OtherAddressState = 0x30,
        OtherAddressStreet = 0x31, PagerNumber = 0x32, RadioPhoneNumber = 0x33, Spouse = 0x34,
        Suffix = 0x35, Title = 0x36, WebPage = 0x37, YomiCompanyName = 0x38,
        YomiFirstName = 0x39, YomiLastName = 0x3A, Picture = 0x3C, Alias = 0x3D,
        WeightedRank = 0x3E,
    }
    2 email "Email" {
        Attachment = 0x05, Attachments = 0x06, AttName = 0x07, AttSize = 0x08, Att0Id = 0x09,
        AttMethod = 0x0A, Body = 0x0C, BodySize = 0x0D, BodyTruncated = 0x0E,
        DateReceived = 0x0F, DisplayName = 0x10, DisplayTo = 0x11, Importance = 0x12,
        MessageClass = 0x13, Subject = 0x14, Read = 0x15, To = 0x16, Cc = 0x17, From = 0x18,
        ReplyTo = 0x19, AllDayEvent = 0x1A, Categories = 0x1B, Category = 0x1C, DtStamp = 0x1D,
        EndTime = 0x1E, InstanceType = 0x1F, BusyStatus = 0x20, Location = 0x21,
        MeetingRequest = 0x22, Organizer = 0x23, RecurrenceId = 0x24, Reminder = 0x25,
        ResponseRequested = 0x26, Recurrences = 0x27, Recurrence = 0x28, Type = 0x29,
        Until = 0x2A, Occurrences = 0x2B, Interval = 0x2C, DayOfWeek = 0x2D, DayOfMonth = 0x2E,
        WeekOfMonth = 0x2F, MonthOfYear = 0x30, StartTime = 0x31, Sensitivity = 0x32,
        TimeZone = 0x33, GlobalObjId = 0x34, ThreadTopic = 0x35, MIMEData = 0x36,
        MIMETruncated = 0x37, MIMESize = 0x38, InternetCPID = 0x39, Flag = 0x3A, Status = 0x3B,
        ContentClass = 0x3C, FlagType = 0x3D, CompleteTime = 0x3E,
        DisallowNewTimeProposal = 0x3F,
    }
    3 airnotify "AirNotify" {
        Notify = 0x05, Notification = 0x06, Version = 0x07, LifeTime = 0x08, DeviceInfo = 0x09,
        Enable = 0x0A, Folder = 0x0B, ServerId = 0x0C, DeviceAddress = 0x0D,
        ValidCarrierProfiles = 0x0E, CarrierProfile = 0x0F, Status = 0x10, Responses = 0x11,
        Devices = 0x12, Device = 0x13, Id = 0x14, Expiry = 0x15, NotifyGUID = 0x16,
        DeviceFriendlyName = 0x17,
    }
    4 calendar "Calendar" {
        Timezone = 0x05, AllDayEvent = 0x06, Attendees = 0x07, Attendee = 0x08, Email = 0x09,
        Name = 0x0A, Body = 0x0B, BodyTruncated = 0x0C, BusyStatus = 0x0D, Categories = 0x0E,
        Category = 0x0F, DtStamp = 0x11, EndTime = 0x12, Exception = 0x13, Exceptions = 0x14,
        Deleted = 0x15, ExceptionStartTime = 0x16, Location = 0x17, MeetingStatus = 0x18,
        OrganizerEmail = 0x19, OrganizerName = 0x1A, Recurrence = 0x1B, Type = 0x1C,
        Until = 0x1D, Occurrences = 0x1E, Interval = 0x1F, DayOfWeek = 0x20, DayOfMonth = 0x21,
        WeekOfMonth = 0x22, MonthOfYear = 0x23, Reminder = 0x24, Sensitivity = 0x25,
        Subject = 0x26, StartTime = 0x27, UID = 0x28, AttendeeStatus = 0x29,
        AttendeeType = 0x2A, DisallowNewTimeProposal = 0x33, ResponseRequested = 0x34,
        AppointmentReplyTime = 0x35, ResponseType = 0x36, CalendarType = 0x37,
        IsLeapMonth = 0x38, FirstDayOfWeek = 0x39, OnlineMeetingConfLink = 0x3A,
        OnlineMeetingExternalLink = 0x3B, ClientUid = 0x3C,
    }
    5 mov "Move" {
        MoveItems = 0x05, Move = 0x06, SrcMsgId = 0x07, SrcFldId = 0x08, DstFldId = 0x09,
        Response = 0x0A, Status = 0x0B, DstMsgId = 0x0C,
    }
    6 itemestimate "GetItemEstimate" {
        GetItemEstimate = 0x05, Version = 0x06, Collections = 0x07, Collection = 0x08,
        Class = 0x09, CollectionId = 0x0A, DateTime = 0x0B, Estimate = 0x0C, Response = 0x0D,
        Status = 0x0E,
    }
    7 folderhierarchy "FolderHierarchy" {
        Folders = 0x05, Folder = 0x06, DisplayName = 0x07, ServerId = 0x08, ParentId = 0x09,
        Type = 0x0A, Status = 0x0C, Changes = 0x0E, Add = 0x0F, Delete = 0x10, Update = 0x11,
        SyncKey = 0x12, FolderCreate = 0x13, FolderDelete = 0x14, FolderUpdate = 0x15,
        FolderSync = 0x16, Count = 0x17,
    }
    8 meetingresponse "MeetingResponse" {
        CalendarId = 0x05, CollectionId = 0x06, MeetingResponse = 0x07, RequestId = 0x08,
        Request = 0x09, Result = 0x0A, Status = 0x0B, UserResponse = 0x0C, InstanceId = 0x0E,
        ProposedStartTime = 0x10, ProposedEndTime = 0x11, SendResponse = 0x12,
    }
    9 tasks "Tasks" {
        Body = 0x05, BodySize = 0x06, BodyTruncated = 0x07, Categories = 0x08, Category = 0x09,
        Complete = 0x0A, DateCompleted = 0x0B, DueDate = 0x0C, UtcDueDate = 0x0D,
        Importance = 0x0E, Recurrence = 0x0F, Type = 0x10, Start = 0x11, Until = 0x12,
        Occurrences = 0x13, Interval = 0x14, DayOfMonth = 0x15, DayOfWeek = 0x16,
        WeekOfMonth = 0x17, MonthOfYear = 0x18, Regenerate = 0x19, DeadOccur = 0x1A,
        ReminderSet = 0x1B, ReminderTime = 0x1C, Sensitivity = 0x1D, StartDate = 0x1E,
        UtcStartDate = 0x1F, Subject = 0x20, OrdinalDate = 0x22, SubOrdinalDate = 0x23,
        CalendarType = 0x24, IsLeapMonth = 0x25, FirstDayOfWeek = 0x26,
    }
    10 resolverecipients "ResolveRecipients" {
        ResolveRecipients = 0x05, Response = 0x06, Status = 0x07, Type = 0x08, Recipient = 0x09,
        DisplayName = 0x0A, EmailAddress = 0x0B, Certificates = 0x0C, Certificate = 0x0D,
        MiniCertificate = 0x0E, Options = 0x0F, To = 0x10, CertificateRetrieval = 0x11,
        RecipientCount = 0x12, MaxCertificates = 0x13, MaxAmbiguousRecipients = 0x14,
        CertificateCount = 0x15, Availability = 0x16, StartTime = 0x17, EndTime = 0x18,
        MergedFreeBusy = 0x19, Picture = 0x1A, MaxSize = 0x1B, Data = 0x1C,
        MaxPictures = 0x1D,
    }
    11 validatecert "ValidateCert" {
        ValidateCert = 0x05, Certificates = 0x06, Certificate = 0x07, CertificateChain = 0x08,
        CheckCRL = 0x09, Status = 0x0A,
    }
    12 contacts2 "Contacts2" {
        CustomerId = 0x05, GovernmentId = 0x06, IMAddress = 0x07, IMAddress2 = 0x08,
        IMAddress3 = 0x09, ManagerName = 0x0A, CompanyMainPhone = 0x0B, AccountName = 0x0C,
        NickName = 0x0D, MMS = 0x0E,
    }
    13 ping "Ping" {
        Ping = 0x05, AutdState = 0x06, Status = 0x07, HeartbeatInterval = 0x08, Folders = 0x09,
        Folder = 0x0A, Id = 0x0B, Class = 0x0C, MaxFolders = 0x0D,
    }
    14 provision "Provision" {
        Provision = 0x05, Policies = 0x06, Policy = 0x07, PolicyType = 0x08, PolicyKey = 0x09,
        Data = 0x0A, Status = 0x0B, RemoteWipe = 0x0C, EASProvisionDoc = 0x0D,
        DevicePasswordEnabled = 0x0E, AlphanumericDevicePasswordRequired = 0x0F,
        RequireStorageCardEncryption = 0x10, PasswordRecoveryEnabled = 0x11,
        AttachmentsEnabled = 0x13, MinDevicePasswordLength = 0x14,
        MaxInactivityTimeDeviceLock = 0x15, MaxDevicePasswordFailedAttempts = 0x16,
        MaxAttachmentSize = 0x17, AllowSimpleDevicePassword = 0x18,
        DevicePasswordExpiration = 0x19, DevicePasswordHistory = 0x1A, AllowStorageCard = 0x1B,
        AllowCamera = 0x1C, RequireDeviceEncryption = 0x1D, AllowUnsignedApplications = 0x1E,
        AllowUnsignedInstallationPackages = 0x1F, MinDevicePasswordComplexCharacters = 0x20,
        AllowWiFi = 0x21, AllowTextMessaging = 0x22, AllowPOPIMAPEmail = 0x23,
        AllowBluetooth = 0x24, AllowIrDA = 0x25, RequireManualSyncWhenRoaming = 0x26,
        AllowDesktopSync = 0x27, MaxCalendarAgeFilter = 0x28, AllowHTMLEmail = 0x29,
        MaxEmailAgeFilter = 0x2A, MaxEmailBodyTruncationSize = 0x2B,
        MaxEmailHTMLBodyTruncationSize = 0x2C, RequireSignedSMIMEMessages = 0x2D,
        RequireEncryptedSMIMEMessages = 0x2E, RequireSignedSMIMEAlgorithm = 0x2F,
        RequireEncryptionSMIMEAlgorithm = 0x30, AllowSMIMEEncryptionAlgorithmNegotiation = 0x31,
        AllowSMIMESoftCerts = 0x32, AllowBrowser = 0x33, AllowConsumerEmail = 0x34,
        AllowRemoteDesktop = 0x35, AllowInternetSharing = 0x36,
        UnapprovedInROMApplicationList = 0x37, ApplicationName = 0x38,
        ApprovedApplicationList = 0x39, Hash = 0x3A, AccountOnlyRemoteWipe = 0x3B,
    }
    15 search "Search" {
        Search = 0x05, Store = 0x07, Name = 0x08, Query = 0x09, Options = 0x0A, Range = 0x0B,
        Status = 0x0C, Response = 0x0D, Result = 0x0E, Properties = 0x0F, Total = 0x10,
        EqualTo = 0x11, Value = 0x12, And = 0x13, Or = 0x14, FreeText = 0x15,
        DeepTraversal = 0x17, LongId = 0x18, RebuildResults = 0x19, LessThan = 0x1A,
        GreaterThan = 0x1B, UserName = 0x1E, Password = 0x1F, ConversationId = 0x20,
        Picture = 0x21, MaxSize = 0x22, MaxPictures = 0x23,
    }
    16 gal "GAL" {
        DisplayName = 0x05, Phone = 0x06, Office = 0x07, Title = 0x08, Company = 0x09,
        Alias = 0x0A, FirstName = 0x0B, LastName = 0x0C, HomePhone = 0x0D, MobilePhone = 0x0E,
        EmailAddress = 0x0F, Picture = 0x10, Status = 0x11, Data = 0x12,
    }
    17 airsyncbase "AirSyncBase" {
        BodyPreference = 0x05, Type = 0x06, TruncationSize = 0x07, AllOrNone = 0x08,
        Body = 0x0A, Data = 0x0B, EstimatedDataSize = 0x0C, Truncated = 0x0D,
        Attachments = 0x0E, Attachment = 0x0F, DisplayName = 0x10, FileReference = 0x11,
        Method = 0x12, ContentId = 0x13, ContentLocation = 0x14, IsInline = 0x15,
        NativeBodyType = 0x16, ContentType = 0x17, Preview = 0x18, BodyPartPreference = 0x19,
        BodyPart = 0x1A, Status = 0x1B, Add = 0x1C, Delete = 0x1D, ClientId = 0x1E,
        Content = 0x1F, Location = 0x20, Annotation = 0x21, Street = 0x22, City = 0x23,
        State = 0x24, Country = 0x25, PostalCode = 0x26, Latitude = 0x27, Longitude = 0x28,
        Accuracy = 0x29, Altitude = 0x2A, AltitudeAccuracy = 0x2B, LocationUri = 0x2C,
        InstanceId = 0x2D,
    }
    18 settings "Settings" {
        Settings = 0x05, Status = 0x06, Get = 0x07, Set = 0x08, Oof = 0x09, OofState = 0x0A,
        StartTime = 0x0B, EndTime = 0x0C, OofMessage = 0x0D, AppliesToInternal = 0x0E,
        AppliesToExternalKnown = 0x0F, AppliesToExternalUnknown = 0x10, Enabled = 0x11,
        ReplyMessage = 0x12, BodyType = 0x13, DevicePassword = 0x14, Password = 0x15,
        DeviceInformation = 0x16, Model = 0x17, IMEI = 0x18, FriendlyName = 0x19, OS = 0x1A,
        OSLanguage = 0x1B, PhoneNumber = 0x1C, UserInformation = 0x1D, EmailAddresses = 0x1E,
        SMTPAddress = 0x1F, UserAgent = 0x20, EnableOutboundSMS = 0x21, MobileOperator = 0x22,
        PrimarySmtpAddress = 0x23, Accounts = 0x24, Account = 0x25, AccountId = 0x26,
        AccountName = 0x27, UserDisplayName = 0x28, SendDisabled = 0x29,
        RightsManagementInformation = 0x2B,
    }
    19 documentlibrary "DocumentLibrary" {
        LinkId = 0x05, DisplayName = 0x06, IsFolder = 0x07, CreationDate = 0x08,
        LastModifiedDate = 0x09, IsHidden = 0x0A, ContentLength = 0x0B, ContentType = 0x0C,
    }
    20 itemoperations "ItemOperations" {
        ItemOperations = 0x05, Fetch = 0x06, Store = 0x07, Options = 0x08, Range = 0x09,
        Total = 0x0A, Properties = 0x0B, Data = 0x0C, Status = 0x0D, Response = 0x0E,
        Version = 0x0F, Schema = 0x10, Part = 0x11, EmptyFolderContents = 0x12,
        DeleteSubFolders = 0x13, UserName = 0x14, Password = 0x15, Move = 0x16,
        DstFldId = 0x17, ConversationId = 0x18, MoveAlways = 0x19,
    }
    21 composemail "ComposeMail" {
        SendMail = 0x05, SmartForward = 0x06, SmartReply = 0x07, SaveInSentItems = 0x08,
        ReplaceMime = 0x09, Source = 0x0B, FolderId = 0x0C, ItemId = 0x0D, LongId = 0x0E,
        InstanceId = 0x0F, Mime = 0x10, ClientId = 0x11, Status = 0x12, AccountId = 0x13,
        Forwardees = 0x15, Forwardee = 0x16, Name = 0x17, Email = 0x18,
    }
    22 email2 "Email2" {
        UmCallerID = 0x05, UmUserNotes = 0x06, UmAttDuration = 0x07, UmAttOrder = 0x08,
        ConversationId = 0x09, ConversationIndex = 0x0A, LastVerbExecuted = 0x0B,
        LastVerbExecutionTime = 0x0C, ReceivedAsBcc = 0x0D, Sender = 0x0E,
        CalendarType = 0x0F, IsLeapMonth = 0x10, AccountId = 0x11, FirstDayOfWeek = 0x12,
        MeetingMessageType = 0x13, IsDraft = 0x15, Bcc = 0x16, Send = 0x17,
    }
    23 notes "Notes" {
        Subject = 0x05, MessageClass = 0x06, LastModifiedDate = 0x07, Categories = 0x08,
        Category = 0x09,
    }
    24 rightsmanagement "RightsManagement" {
        RightsManagementSupport = 0x05, RightsManagementTemplates = 0x06,
        RightsManagementTemplate = 0x07, RightsManagementLicense = 0x08, EditAllowed = 0x09,
        ReplyAllowed = 0x0A, ReplyAllAllowed = 0x0B, ForwardAllowed = 0x0C,
        ModifyRecipientsAllowed = 0x0D, ExtractAllowed = 0x0E, PrintAllowed = 0x0F,
        ExportAllowed = 0x10, ProgrammaticAccessAllowed = 0x11, Owner = 0x12,
        ContentExpiryDate = 0x13, TemplateID = 0x14, TemplateName = 0x15,
        TemplateDescription = 0x16, ContentOwner = 0x17, RemoveRightsManagementDistribution = 0x18,
    }
    25 find "Find" {
        Find = 0x05, SearchId = 0x06, ExecuteSearch = 0x07, MailBoxSearchCriterion = 0x08,
        Query = 0x09, Status = 0x0A, FreeText = 0x0B, Options = 0x0C, Range = 0x0D,
        DeepTraversal = 0x0E, Response = 0x11, Result = 0x12, Properties = 0x13, Preview = 0x14,
        HasAttachments = 0x15, Total = 0x16, DisplayCc = 0x17, DisplayBcc = 0x18,
        GalSearchCriterion = 0x19, MaxPictures = 0x20, MaxSize = 0x21, Picture = 0x22,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_numbered_in_order() {
        assert_eq!(PAGES.len(), 26);
        for (i, p) in PAGES.iter().enumerate() {
            assert_eq!(p.number as usize, i);
            assert_eq!(page_of(p.namespace), Some(p.number));
            assert_eq!(page_name(p.number), Some(p.namespace));
        }
        assert_eq!(page_name(26), None);
        assert_eq!(page_of("Nope"), None);
    }

    #[test]
    fn names_are_unique_within_a_page_and_round_trip() {
        for p in PAGES {
            for (i, (token, name)) in p.tags.iter().enumerate() {
                assert!(
                    !p.tags[..i].iter().any(|(_, n)| n == name),
                    "{}:{name} twice",
                    p.namespace
                );
                let tag = Tag::new(p.number, *token);
                assert_eq!(name_of(tag), Some((p.namespace, *name)));
                assert_eq!(tag_of(p.namespace, name), Some(tag));
            }
        }
    }

    #[test]
    fn constants_match_the_specification() {
        // Spot checks against the MS-ASWBXML tables and its worked example.
        assert_eq!(airsync::Sync, Tag::new(0, 0x05));
        assert_eq!(airsync::HeartbeatInterval, Tag::new(0, 0x29));
        assert_eq!(contacts::FileAs, Tag::new(1, 0x1E));
        assert_eq!(mov::DstMsgId, Tag::new(5, 0x0C));
        assert_eq!(itemestimate::Estimate, Tag::new(6, 0x0C));
        assert_eq!(folderhierarchy::Count, Tag::new(7, 0x17));
        assert_eq!(provision::AccountOnlyRemoteWipe, Tag::new(14, 0x3B));
        assert_eq!(airsyncbase::NativeBodyType, Tag::new(17, 0x16));
        assert_eq!(airsyncbase::InstanceId, Tag::new(17, 0x2D));
        assert_eq!(calendar::ClientUid, Tag::new(4, 0x3C));
        assert_eq!(find::Picture, Tag::new(25, 0x22));
        assert_eq!(name_of(Tag::new(0, 0x11)), None);
        assert_eq!(name_of(Tag::new(26, 0x05)), None);
        assert_eq!(name_of(Tag::new(0, 0x00)), None);
        assert_eq!(format!("{:?}", ping::Ping), "Ping:Ping");
    }
}
