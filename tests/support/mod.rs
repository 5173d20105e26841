//! Shared helpers of the integration tests: real web servers, a real Horde,
//! and an ActiveSync client. Each test file uses a part of it.
#![allow(dead_code)]
pub mod client;
pub mod device;
pub mod horde;
pub mod mail;
pub mod meeting;
pub mod memory;
pub mod serve;
pub mod web;
