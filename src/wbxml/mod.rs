//! WBXML 1.3 with the ActiveSync code pages (MS-ASWBXML).
pub mod cli;
pub mod codepages;
pub mod tree;

pub use tree::{Element, Node, Tag};
