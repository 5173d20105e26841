//! An email message as ActiveSync shows it (MS-ASEMAIL 2.2.2): the header
//! fields a device lists, the flags it may change, the attachment list and
//! the decoded bodies. Built from the RFC 5322 source by `convert::mime`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Email {
    /// Address lists as RFC 5322 strings (`"Name" <a@b>, c@d`).
    pub to: Option<String>,
    pub cc: Option<String>,
    pub from: Option<String>,
    pub reply_to: Option<String>,
    pub subject: Option<String>,
    /// Unix seconds (IMAP INTERNALDATE, else the Date header).
    pub date_received: Option<i64>,
    /// Display names of the To recipients, `;`-separated (MS-ASEMAIL 2.2.2.24).
    pub display_to: Option<String>,
    pub thread_topic: Option<String>,
    /// 0 low, 1 normal, 2 high.
    pub importance: Option<u32>,
    pub read: Option<bool>,
    pub flag: Option<Flag>,
    /// `IPM.Note`, `IPM.Note.SMIME`, `IPM.Note.SMIME.MultipartSigned`, `IPM.Schedule.Meeting.Request`.
    pub message_class: Option<String>,
    /// Windows code page of the body (65001 = UTF-8).
    pub internet_cpid: Option<u32>,
    /// `urn:content-classes:message`.
    pub content_class: Option<String>,
    pub categories: Vec<String>,
    /// A device's Change carried a Categories element (an empty one clears
    /// them); not stored.
    #[serde(skip)]
    pub categories_sent: bool,
    pub attachments: Vec<Attachment>,
    /// Email2:ConversationId / ConversationIndex (14.0+), raw bytes.
    pub conversation_id: Option<Vec<u8>>,
    pub conversation_index: Option<Vec<u8>>,
    /// Email2:LastVerbExecuted (14.0+): 1 replied to sender, 2 replied to
    /// all, 3 forwarded; and when (unix seconds), if known.
    #[serde(default)]
    pub last_verb_executed: Option<u32>,
    #[serde(default)]
    pub last_verb_execution_time: Option<i64>,
    pub body: EmailBody,
}

/// Follow-up flag (MS-ASEMAIL 2.2.2.34). Status 0 cleared, 1 complete, 2 active.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub status: u32,
    pub flag_type: Option<String>,
    /// Unix seconds.
    pub start_date: Option<i64>,
    pub due_date: Option<i64>,
    pub complete_time: Option<i64>,
}

/// One attachment as listed to the device; the content is fetched later by
/// `file_reference`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub file_reference: String,
    pub display_name: String,
    pub estimated_data_size: u64,
    /// AirSyncBase:Method: 1 normal attachment, 5 embedded message, 6 OLE.
    pub method: u32,
    pub content_id: Option<String>,
    pub is_inline: bool,
}

/// The bodies a device may ask for (AirSyncBase Type 1, 2, 4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailBody {
    pub plain: Option<String>,
    pub html: Option<String>,
    /// The whole RFC 5322 message, byte for byte (of a large message: its
    /// beginning, see `partial`).
    pub mime: Option<Vec<u8>>,
    /// Body forms held only in part (a message too large to read whole,
    /// see `backend::mail::large`); empty when every form is whole.
    #[serde(default, skip_serializing_if = "Partial::is_empty")]
    pub partial: Partial,
}

/// The full sizes (octets) of the body forms an [`EmailBody`] holds only
/// the beginning of, and where the whole MIME form can be read from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partial {
    pub plain: Option<u64>,
    pub html: Option<u64>,
    pub mime: Option<u64>,
    /// The FileReference that reads the whole message (`Session::fetch_attachment`).
    pub mime_reference: Option<String>,
}

impl Partial {
    pub fn is_empty(&self) -> bool {
        *self == Partial::default()
    }
}
