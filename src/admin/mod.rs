//! Operator verbs: `devices` and `users`.
pub mod devices;
pub mod users;
