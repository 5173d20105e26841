//! WBXML 1.3 with the ActiveSync code pages (MS-ASWBXML).
//!
//! [`decode`] turns request bytes into an [`Element`] tree, [`encode`] turns a
//! response tree into bytes, [`xml`] gives the readable form used by the debug
//! log and the `wbxml` CLI verb.
pub mod cli;
pub mod codepages;
pub mod decode;
pub mod encode;
pub mod tree;
pub mod xml;

pub use decode::{decode, DecodeError, Limits, Reason};
pub use encode::encode;
pub use tree::{Element, Node, Tag};
