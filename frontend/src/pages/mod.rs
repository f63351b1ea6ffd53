//! One module per route.

pub mod admin;
pub mod books;
pub mod chat;
pub mod docs;
pub mod home;
pub mod login;
pub mod not_found;
pub mod personas;
pub mod rolecard;
pub mod support;
