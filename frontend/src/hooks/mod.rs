//! Connections, in the leptos-use shape: `use_x()` returns a struct of
//! signals; the state logic lives in plain types tested natively.

pub mod books_chat;
pub mod chat_state;
pub mod connection;
pub mod panel;
pub mod rolecard_run;
pub mod server_status;
pub mod session;
pub mod sse;
pub mod support_chat;
pub mod websocket;
