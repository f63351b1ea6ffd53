//! Integration tests: the real server on 127.0.0.1:0, one module per feature.

#[path = "../support/mod.rs"]
mod databases;
mod helpers;

mod admin;
mod apidocs;
mod auth;
mod auth_limits;
mod books;
mod chat;
mod clients;
mod cluster;
mod cluster_state;
mod crash;
mod credits;
mod health;
mod http;
mod identity;
mod limits;
mod openai;
mod operating;
mod personas;
mod providers;
mod rolecard;
mod shutdown;
mod sockets;
mod streams;
mod support;
mod test_sse;
mod visitors;
mod ws;
