//! The PIM backend (embedded or Horde) and mail (IMAP/SMTP) as one backend:
//! `Class::Email` collections go to the mail session, everything else to the
//! PIM session. The PIM backend checks the credentials; IMAP logs in with the
//! same ones, and only when a request touches mail (a Ping on contacts never
//! opens an IMAP connection).

use super::mail::{MailBackend, MailSession};
use super::{Backend, ChangeSet, Collection, Cursor, Result, Session, Window};
use crate::model::{Class, Contact, Item};

pub struct CombinedBackend {
    pim: Box<dyn Backend>,
    mail: MailBackend,
}

impl CombinedBackend {
    pub fn new(pim: Box<dyn Backend>, mail: MailBackend) -> CombinedBackend {
        CombinedBackend { pim, mail }
    }
}

impl Backend for CombinedBackend {
    fn open(&self, user: &str, password: &str) -> Result<Box<dyn Session>> {
        let pim = self.pim.open(user, password)?;
        Ok(Box::new(CombinedSession {
            pim,
            mail: None,
            backend: self.mail.clone(),
            user: user.to_string(),
            password: password.to_string(),
        }))
    }
}

struct CombinedSession {
    pim: Box<dyn Session>,
    mail: Option<MailSession>,
    backend: MailBackend,
    user: String,
    password: String,
}

impl CombinedSession {
    fn mail(&mut self) -> Result<&mut MailSession> {
        if self.mail.is_none() {
            self.mail = Some(self.backend.open(&self.user, &self.password)?);
        }
        Ok(self.mail.as_mut().expect("opened above"))
    }

    fn for_class(&mut self, class: Class) -> Result<&mut dyn Session> {
        if class == Class::Email {
            Ok(self.mail()? as &mut dyn Session)
        } else {
            Ok(self.pim.as_mut())
        }
    }

    /// The session that owns a collection known only by id (rename/delete).
    fn owner_of(&mut self, id: &str) -> Result<&mut dyn Session> {
        let is_mail = self.mail()?.collections()?.iter().any(|c| c.id == id);
        self.for_class(if is_mail {
            Class::Email
        } else {
            Class::Contacts
        })
    }
}

impl Session for CombinedSession {
    fn collections(&mut self) -> Result<Vec<Collection>> {
        let mut all = self.pim.collections()?;
        all.extend(self.mail()?.collections()?);
        Ok(all)
    }
    fn create_collection(
        &mut self,
        class: Class,
        name: &str,
        parent: Option<&str>,
    ) -> Result<Collection> {
        self.for_class(class)?
            .create_collection(class, name, parent)
    }
    fn rename_collection(&mut self, id: &str, name: &str) -> Result<()> {
        self.owner_of(id)?.rename_collection(id, name)
    }
    fn delete_collection(&mut self, id: &str) -> Result<()> {
        self.owner_of(id)?.delete_collection(id)
    }
    fn cursor(&mut self, c: &Collection) -> Result<Cursor> {
        self.for_class(c.class)?.cursor(c)
    }
    /// The PIM collections in one batch (side by side on Horde), then mail.
    fn cursors(&mut self, collections: &[Collection]) -> Result<Vec<Cursor>> {
        let (mail, pim): (Vec<_>, Vec<_>) = collections
            .iter()
            .enumerate()
            .partition(|(_, c)| c.class == Class::Email);
        let pim_batch: Vec<Collection> = pim.iter().map(|(_, c)| (*c).clone()).collect();
        let mut out: Vec<Cursor> = vec![Cursor::default(); collections.len()];
        for ((i, _), cursor) in pim.iter().zip(self.pim.cursors(&pim_batch)?) {
            out[*i] = cursor;
        }
        for (i, c) in mail {
            out[i] = self.mail()?.cursor(c)?;
        }
        Ok(out)
    }
    fn list(&mut self, c: &Collection, window: Window) -> Result<Vec<String>> {
        self.for_class(c.class)?.list(c, window)
    }
    fn changes(&mut self, c: &Collection, since: &Cursor) -> Result<ChangeSet> {
        self.for_class(c.class)?.changes(c, since)
    }
    fn fetch(&mut self, c: &Collection, ids: &[String]) -> Result<Vec<(String, Item)>> {
        self.for_class(c.class)?.fetch(c, ids)
    }
    fn add(&mut self, c: &Collection, item: &Item) -> Result<String> {
        self.for_class(c.class)?.add(c, item)
    }
    fn replace(&mut self, c: &Collection, id: &str, item: &Item) -> Result<()> {
        self.for_class(c.class)?.replace(c, id, item)
    }
    fn delete(&mut self, c: &Collection, id: &str) -> Result<()> {
        self.for_class(c.class)?.delete(c, id)
    }
    fn delete_permanently(&mut self, c: &Collection, id: &str) -> Result<()> {
        self.for_class(c.class)?.delete_permanently(c, id)
    }
    fn empty_collection(&mut self, c: &Collection) -> Result<()> {
        self.for_class(c.class)?.empty_collection(c)
    }
    fn move_item(&mut self, from: &Collection, id: &str, to: &Collection) -> Result<String> {
        self.for_class(from.class)?.move_item(from, id, to)
    }
    fn send_mail(&mut self, message: &[u8], save_in_sent: bool) -> Result<()> {
        self.mail()?.send_mail(message, save_in_sent)
    }
    fn send_with_original(
        &mut self,
        message: &[u8],
        original: (&Collection, &str),
        forward: bool,
        replace_mime: bool,
        save_in_sent: bool,
    ) -> Result<()> {
        self.mail()?
            .send_with_original(message, original, forward, replace_mime, save_in_sent)
    }
    fn search(&mut self, c: &Collection, text: &str, window: Window) -> Result<Vec<String>> {
        self.for_class(c.class)?.search(c, text, window)
    }
    fn fetch_attachment(
        &mut self,
        file_reference: &str,
        spool: &crate::blob::Spool,
    ) -> Result<(String, crate::blob::Blob)> {
        self.mail()?.fetch_attachment(file_reference, spool)
    }
    fn certificates(&mut self, books: &[Collection], address: &str) -> Result<Vec<Vec<u8>>> {
        self.pim.certificates(books, address)
    }
    fn free_busy(
        &mut self,
        user: &str,
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<super::free_busy::FreeBusy>> {
        self.pim.free_busy(user, start, end)
    }
    /// The directory lives in the PIM backend (the embedded store reads
    /// other users' books there), never in IMAP.
    fn gal_collections(&mut self, sources: &[String]) -> Result<Vec<Collection>> {
        self.pim.gal_collections(sources)
    }
    fn search_contacts(
        &mut self,
        collections: &[Collection],
        query: &str,
        limit: usize,
    ) -> Result<Vec<(String, Contact)>> {
        self.pim.search_contacts(collections, query, limit)
    }
    fn calls(&self) -> u32 {
        self.pim.calls() + self.mail.as_ref().map_or(0, |m| m.calls())
    }
    fn idle(&mut self) {
        self.pim.idle();
    }
}
