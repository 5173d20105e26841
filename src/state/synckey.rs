//! Sync keys of the form `{uuid}N`, as Z-Push writes them.
//!
//! The uuid is drawn fresh whenever a folder's state starts over (SyncKey 0),
//! so a key from before a reset can never be mistaken for a key after it; the
//! counter `N` counts the exchanges within one uuid. `"0"` is the initial key
//! a client sends to (re)start a folder (MS-ASCMD 2.2.3.176.4).

use super::StateError;
use std::fmt;
use std::str::FromStr;

/// A random (version 4) uuid, kept as its 16 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Uuid([u8; 16]);

impl Uuid {
    /// A fresh random uuid (RFC 4122 version 4) from the operating system.
    pub fn new_v4() -> Uuid {
        let mut b = [0u8; 16];
        getrandom::getrandom(&mut b).expect("the operating system has no random source");
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        Uuid(b)
    }

    /// Parse the 8-4-4-4-12 hex form (either case).
    fn parse(s: &str) -> Option<Uuid> {
        let groups: Vec<&str> = s.split('-').collect();
        let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        if lengths != [8, 4, 4, 4, 12] {
            return None;
        }
        let hex: String = groups.concat();
        let mut b = [0u8; 16];
        for (i, byte) in b.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Uuid(b))
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// A folder's sync key: `"0"` or `{uuid}N` with N >= 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SyncKey {
    /// `None` only for the initial key `"0"`.
    uuid: Option<Uuid>,
    counter: u32,
}

impl SyncKey {
    /// The key `"0"` a client sends to start a folder from scratch.
    pub const INITIAL: SyncKey = SyncKey {
        uuid: None,
        counter: 0,
    };

    /// The first key of a new state: a fresh uuid and N = 1.
    pub fn first() -> SyncKey {
        SyncKey {
            uuid: Some(Uuid::new_v4()),
            counter: 1,
        }
    }

    /// The key that follows this one (same uuid, N + 1); after `"0"`, a
    /// fresh [`SyncKey::first`].
    pub fn next(&self) -> SyncKey {
        match self.uuid {
            None => SyncKey::first(),
            Some(uuid) => SyncKey {
                uuid: Some(uuid),
                counter: self.counter.saturating_add(1),
            },
        }
    }

    pub fn is_initial(&self) -> bool {
        self.uuid.is_none()
    }

    /// N of `{uuid}N`; 0 for the initial key.
    pub fn counter(&self) -> u32 {
        self.counter
    }

    /// True when both keys belong to the same state lineage (same uuid).
    pub fn same_lineage(&self, other: &SyncKey) -> bool {
        self.uuid.is_some() && self.uuid == other.uuid
    }
}

impl Default for SyncKey {
    fn default() -> Self {
        SyncKey::INITIAL
    }
}

impl fmt::Display for SyncKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.uuid {
            None => f.write_str("0"),
            Some(uuid) => write!(f, "{{{uuid}}}{}", self.counter),
        }
    }
}

impl FromStr for SyncKey {
    type Err = StateError;

    /// Accepts `"0"` and `{uuid}N` (N from 1 to u32::MAX, no sign, no
    /// leading zero); anything else is [`StateError::InvalidSyncKey`].
    fn from_str(s: &str) -> Result<SyncKey, StateError> {
        if s == "0" {
            return Ok(SyncKey::INITIAL);
        }
        let invalid = || StateError::InvalidSyncKey(s.chars().take(80).collect());
        let rest = s.strip_prefix('{').ok_or_else(invalid)?;
        let (uuid, counter) = rest.split_once('}').ok_or_else(invalid)?;
        let uuid = Uuid::parse(uuid).ok_or_else(invalid)?;
        let digits_ok = !counter.is_empty()
            && counter.bytes().all(|b| b.is_ascii_digit())
            && !counter.starts_with('0');
        let counter: u32 = if digits_ok {
            counter.parse().ok()
        } else {
            None
        }
        .ok_or_else(invalid)?;
        Ok(SyncKey {
            uuid: Some(uuid),
            counter,
        })
    }
}

impl serde::Serialize for SyncKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for SyncKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SyncKey, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_key_round_trips() {
        let k: SyncKey = "0".parse().unwrap();
        assert!(k.is_initial());
        assert_eq!(k.to_string(), "0");
        assert_eq!(k.counter(), 0);
    }

    #[test]
    fn first_next_and_format() {
        let a = SyncKey::first();
        let b = a.next();
        assert_eq!(a.counter(), 1);
        assert_eq!(b.counter(), 2);
        assert!(a.same_lineage(&b));
        let text = b.to_string();
        assert!(text.starts_with('{') && text.ends_with("}2"), "{text}");
        assert_eq!(text.len(), 1 + 36 + 1 + 1);
        assert_eq!(text.parse::<SyncKey>().unwrap(), b);
        assert!(text.len() <= 64, "MS-ASCMD limits SyncKey to 64 characters");
    }

    #[test]
    fn resets_never_collide() {
        let a = SyncKey::INITIAL.next();
        let b = SyncKey::INITIAL.next();
        assert_ne!(a, b);
        assert!(!a.same_lineage(&b));
        assert!(!SyncKey::INITIAL.same_lineage(&SyncKey::INITIAL));
    }

    #[test]
    fn uuid_is_version_4() {
        let s = Uuid::new_v4().to_string();
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"), "{s}");
    }

    #[test]
    fn parse_is_case_insensitive_and_normalises() {
        let k: SyncKey = "{6F9619FF-8B86-4011-B42D-00C04FC964FF}7".parse().unwrap();
        assert_eq!(k.to_string(), "{6f9619ff-8b86-4011-b42d-00c04fc964ff}7");
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in [
            "",
            "00",
            "1",
            "-1",
            "{}1",
            "{6f9619ff-8b86-4011-b42d-00c04fc964ff}",
            "{6f9619ff-8b86-4011-b42d-00c04fc964ff}0",
            "{6f9619ff-8b86-4011-b42d-00c04fc964ff}01",
            "{6f9619ff-8b86-4011-b42d-00c04fc964ff}+1",
            "{6f9619ff-8b86-4011-b42d-00c04fc964ff}99999999999",
            "{6f9619ff8b864011b42d00c04fc964ff}1",
            "{6f9619ff-8b86-4011-b42d-00c04fc964fg}1",
            "{6f9619ff-8b86-4011-b42d-00c04fc964ff}1x",
            "{ééééééé-8b86-4011-b42d-00c04fc964ff}1",
        ] {
            assert!(bad.parse::<SyncKey>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn serde_uses_the_text_form() {
        let k = SyncKey::first();
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(json, format!("\"{k}\""));
        assert_eq!(serde_json::from_str::<SyncKey>(&json).unwrap(), k);
        assert!(serde_json::from_str::<SyncKey>("\"nope\"").is_err());
    }
}
