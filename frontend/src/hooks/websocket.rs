//! `use_websocket`: one WebSocket in the leptos-use shape, done properly.
//!
//! - Reconnects after a drop with exponential backoff and jitter
//!   ([`Reconnect`]), shows "Reconnecting in N s", and `reconnect_now`
//!   skips the wait.
//! - Messages sent while offline are queued ([`SendQueue`], bounded) and go
//!   out in order once connected; `on_open` runs first (to resume streams).
//! - Heartbeat: `{"type":"ping"}` every `heartbeat_secs`.
//! - Every message reaches `on_message` (none is lost between renders),
//!   decoded into the protocol's `Rx` type through `api::parse_json`; the
//!   page sends its `Tx` values (a `shared` `ClientMessage`), encoded through
//!   `api::to_json`. The socket itself works on text, so only those two
//!   conversions are instantiated per protocol.
//! - Closes when the owning component unmounts.
//! - A socket the server closed because its user signed out (1008, "signed
//!   out…", a logout in another tab or device) is not reopened: the
//!   session is asked again, finds its token refused, and the shell sends
//!   the user to sign in.

use crate::api;
use crate::hooks::connection::{Backoff, ConnState};
use crate::hooks::session::Session;
use gloo_timers::callback::{Interval, Timeout};
use leptos::prelude::*;
use std::collections::VecDeque;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// Reconnect waits: exponential backoff with ±20 % jitter, so that many
/// clients dropped at once do not come back at once.
#[derive(Debug, Clone)]
pub struct Reconnect {
    backoff: Backoff,
    /// Attempts before giving up (`None`: never).
    pub max_attempts: Option<u32>,
}

impl Reconnect {
    pub fn new(max_secs: u32, max_attempts: Option<u32>) -> Self {
        Self {
            backoff: Backoff::new(max_secs),
            max_attempts,
        }
    }

    /// The wait before the next attempt in milliseconds, given a random
    /// number in [0, 1); `None` once the attempts are used up.
    pub fn next_wait_ms(&mut self, random: f64) -> Option<u32> {
        if self
            .max_attempts
            .is_some_and(|max| self.backoff.failures >= max)
        {
            return None;
        }
        let base = f64::from(self.backoff.fail()) * 1000.0;
        let jitter = 0.8 + 0.4 * random.clamp(0.0, 1.0);
        Some((base * jitter).round() as u32)
    }

    /// Connected: the next drop starts from 1 s again.
    pub fn connected(&mut self) {
        self.backoff.succeed();
    }
}

/// Messages waiting for a connection, oldest first; past `capacity` the
/// oldest are dropped.
#[derive(Debug, Clone)]
pub struct SendQueue {
    items: VecDeque<String>,
    capacity: usize,
}

impl SendQueue {
    pub fn new(capacity: usize) -> Self {
        Self {
            items: VecDeque::new(),
            capacity,
        }
    }

    pub fn push(&mut self, msg: String) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
        }
        self.items.push_back(msg);
    }

    /// Everything queued, in order, leaving the queue empty.
    pub fn drain(&mut self) -> Vec<String> {
        self.items.drain(..).collect()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Options of [`use_websocket_with_options`], for a protocol whose server
/// sends `Rx` and whose page sends `Tx`.
pub struct UseWebSocketOptions<Tx: 'static, Rx: 'static> {
    /// Every message that decodes as `Rx`, in order (others are dropped).
    pub on_message: Callback<Rx>,
    /// After each (re)connect: messages to send before the queue (e.g.
    /// `resume` for streams still open).
    pub on_open: Callback<(), Vec<Tx>>,
    /// Seconds between pings; 0 for none.
    pub heartbeat_secs: u32,
    /// Longest wait between attempts.
    pub max_backoff_secs: u32,
    /// Attempts in a row before giving up (`None`: never); "retry now"
    /// starts again after that.
    pub max_attempts: Option<u32>,
}

/// What the hook gives a component.
pub struct UseWebSocketReturn<Tx: 'static> {
    pub state: Signal<ConnState>,
    /// Sends now, or queues until connected.
    pub send: Callback<Tx>,
    /// Skips the wait of a pending reconnect, or tries again after the
    /// attempts ran out.
    pub reconnect_now: Callback<()>,
    /// Closes the socket and opens a new one at once (the URL changed).
    pub restart: Callback<()>,
}

struct Inner {
    ws: Option<WebSocket>,
    /// The socket's handlers, kept alive as long as the socket.
    handlers: Vec<Box<dyn std::any::Any>>,
    queue: SendQueue,
    reconnect: Reconnect,
    timer: Option<Timeout>,
    countdown: Option<Interval>,
    heartbeat: Option<Interval>,
    /// Set on unmount: no more reconnects.
    disposed: bool,
}

#[derive(Clone, Copy)]
struct Ctx {
    inner: StoredValue<Inner, LocalStorage>,
    url: StoredValue<Box<dyn Fn() -> String>, LocalStorage>,
    set_state: WriteSignal<ConnState>,
    on_message: Callback<String>,
    on_open: Callback<(), Vec<String>>,
    heartbeat_secs: u32,
    /// The session, asked again when the server says its user signed out.
    session: Option<Session>,
}

// Not derived: a derive would ask `Tx: Copy`.
impl<Tx> Clone for UseWebSocketReturn<Tx> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<Tx> Copy for UseWebSocketReturn<Tx> {}

/// Opens a socket to `url()` (called again on each reconnect, so the URL
/// can carry a fresh token) that speaks `Tx` one way and `Rx` the other.
pub fn use_websocket_with_options<Tx, Rx>(
    url: impl Fn() -> String + 'static,
    options: UseWebSocketOptions<Tx, Rx>,
) -> UseWebSocketReturn<Tx>
where
    Tx: crate::json::ToJson + 'static,
    Rx: crate::json::FromJson + 'static,
{
    let (on_message, on_open) = (options.on_message, options.on_open);
    let text = open_socket(
        url,
        TextOptions {
            on_message: Callback::new(move |text: String| {
                if let Ok(msg) = api::parse_json::<Rx>(&text) {
                    on_message.run(msg);
                }
            }),
            on_open: Callback::new(move |()| {
                on_open.run(()).iter().map(|m| api::to_json(m)).collect()
            }),
            heartbeat_secs: options.heartbeat_secs,
            max_backoff_secs: options.max_backoff_secs,
            max_attempts: options.max_attempts,
        },
    );
    let send = text.send;
    UseWebSocketReturn {
        state: text.state,
        send: Callback::new(move |msg: Tx| send.run(api::to_json(&msg))),
        reconnect_now: text.reconnect_now,
        restart: text.restart,
    }
}

/// The socket's options, in text.
struct TextOptions {
    on_message: Callback<String>,
    on_open: Callback<(), Vec<String>>,
    heartbeat_secs: u32,
    max_backoff_secs: u32,
    max_attempts: Option<u32>,
}

fn open_socket(
    url: impl Fn() -> String + 'static,
    options: TextOptions,
) -> UseWebSocketReturn<String> {
    let (state, set_state) = signal(ConnState::Connecting);
    let ctx = Ctx {
        inner: StoredValue::new_local(Inner {
            ws: None,
            handlers: Vec::new(),
            queue: SendQueue::new(100),
            reconnect: Reconnect::new(options.max_backoff_secs, options.max_attempts),
            timer: None,
            countdown: None,
            heartbeat: None,
            disposed: false,
        }),
        url: StoredValue::new_local(Box::new(url) as Box<dyn Fn() -> String>),
        set_state,
        on_message: options.on_message,
        on_open: options.on_open,
        heartbeat_secs: options.heartbeat_secs,
        session: use_context::<Session>(),
    };
    connect(ctx);
    on_cleanup(move || {
        ctx.inner.try_update_value(|inner| {
            inner.disposed = true;
            inner.timer = None;
            inner.countdown = None;
            inner.heartbeat = None;
            if let Some(ws) = inner.ws.take() {
                // Detach the handlers first: they are dropped below, and the
                // close event arrives after this returns.
                ws.set_onopen(None);
                ws.set_onmessage(None);
                ws.set_onclose(None);
                let _ = ws.close();
            }
            inner.handlers.clear();
        });
    });
    let send = Callback::new(move |msg: String| {
        ctx.inner.update_value(|inner| match &inner.ws {
            Some(ws) if ws.ready_state() == WebSocket::OPEN => {
                if ws.send_with_str(&msg).is_err() {
                    inner.queue.push(msg);
                }
            }
            _ => inner.queue.push(msg),
        });
    });
    let reconnect_now = Callback::new(move |()| {
        let (waiting, idle) = ctx
            .inner
            .with_value(|i| (i.timer.is_some(), i.ws.is_none()));
        if waiting || idle {
            ctx.inner.update_value(|i| {
                i.timer = None;
                i.countdown = None;
                i.reconnect.connected();
            });
            connect(ctx);
        }
    });
    let restart = Callback::new(move |()| {
        ctx.inner.update_value(|i| {
            i.timer = None;
            i.countdown = None;
            i.heartbeat = None;
            i.reconnect.connected();
            if let Some(ws) = i.ws.take() {
                ws.set_onopen(None);
                ws.set_onmessage(None);
                ws.set_onclose(None);
                let _ = ws.close();
            }
            i.handlers.clear();
        });
        connect(ctx);
    });
    UseWebSocketReturn {
        state: state.into(),
        send,
        reconnect_now,
        restart,
    }
}

fn connect(ctx: Ctx) {
    if ctx.inner.with_value(|i| i.disposed) {
        return;
    }
    ctx.set_state.set(ConnState::Connecting);
    let url = ctx.url.with_value(|f| f());
    let Ok(ws) = WebSocket::new(&url) else {
        schedule_reconnect(ctx);
        return;
    };
    let on_open = Closure::<dyn FnMut()>::new(move || {
        ctx.inner.update_value(|i| i.reconnect.connected());
        ctx.set_state.set(ConnState::Open);
        let first = ctx.on_open.run(());
        ctx.inner.update_value(|inner| {
            let queued = inner.queue.drain();
            if let Some(ws) = &inner.ws {
                for msg in first.into_iter().chain(queued) {
                    let _ = ws.send_with_str(&msg);
                }
            }
            if ctx.heartbeat_secs > 0 {
                let ws = inner.ws.clone();
                inner.heartbeat = Some(Interval::new(ctx.heartbeat_secs * 1000, move || {
                    if let Some(ws) = &ws
                        && ws.ready_state() == WebSocket::OPEN
                    {
                        let _ = ws.send_with_str(r#"{"type":"ping"}"#);
                    }
                }));
            }
        });
    });
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        if let Some(text) = e.data().as_string() {
            ctx.on_message.run(text);
        }
    });
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
        let disposed = ctx.inner.with_value(|i| i.disposed);
        ctx.inner.update_value(|i| {
            i.heartbeat = None;
            i.ws = None;
        });
        if disposed {
            return;
        }
        if signed_out(e.code(), &e.reason()) {
            ctx.set_state.set(ConnState::Closed);
            if let Some(session) = ctx.session {
                session.refresh();
            }
            return;
        }
        schedule_reconnect(ctx);
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    ctx.inner.update_value(|i| {
        i.ws = Some(ws);
        i.handlers = vec![Box::new(on_open), Box::new(on_message), Box::new(on_close)];
    });
}

fn schedule_reconnect(ctx: Ctx) {
    let wait = ctx
        .inner
        .try_update_value(|i| i.reconnect.next_wait_ms(js_sys::Math::random()))
        .flatten();
    let Some(wait_ms) = wait else {
        ctx.set_state.set(ConnState::Closed);
        return;
    };
    let mut left = wait_ms.div_ceil(1000);
    ctx.set_state.set(ConnState::Reconnecting { in_secs: left });
    let countdown = Interval::new(1000, move || {
        left = left.saturating_sub(1);
        ctx.set_state.set(ConnState::Reconnecting { in_secs: left });
    });
    let timer = Timeout::new(wait_ms, move || {
        ctx.inner.update_value(|i| {
            i.timer = None;
            i.countdown = None;
        });
        connect(ctx);
    });
    ctx.inner.update_value(|i| {
        i.timer = Some(timer);
        i.countdown = Some(countdown);
    });
}

/// The server closed the socket because its user signed out (the close
/// every socket endpoint sends at a logout).
pub fn signed_out(code: u16, reason: &str) -> bool {
    code == 1008 && reason.starts_with("signed out")
}

/// The `/ws` URL on this page's host, with the caller's identity.
pub fn ws_url(path_and_query: &str) -> String {
    let location = web_sys::window().map(|w| w.location());
    let host = location
        .as_ref()
        .and_then(|l| l.host().ok())
        .unwrap_or_default();
    let secure = location
        .and_then(|l| l.protocol().ok())
        .is_some_and(|p| p == "https:");
    format!(
        "{}://{host}{path_and_query}",
        if secure { "wss" } else { "ws" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_waits_grow_with_jitter_and_reset_on_connect() {
        let mut r = Reconnect::new(30, None);
        assert_eq!(r.next_wait_ms(0.5), Some(1000));
        assert_eq!(r.next_wait_ms(0.0), Some(1600), "2 s − 20 %");
        assert_eq!(r.next_wait_ms(1.0), Some(4800), "4 s + 20 %");
        for _ in 0..10 {
            r.next_wait_ms(0.5);
        }
        assert_eq!(r.next_wait_ms(0.5), Some(30_000), "capped");
        r.connected();
        assert_eq!(r.next_wait_ms(0.5), Some(1000));
    }

    #[test]
    fn reconnect_gives_up_after_its_attempts() {
        let mut r = Reconnect::new(30, Some(2));
        assert!(r.next_wait_ms(0.5).is_some());
        assert!(r.next_wait_ms(0.5).is_some());
        assert_eq!(r.next_wait_ms(0.5), None);
    }

    #[test]
    fn only_the_logout_close_counts_as_signed_out() {
        assert!(signed_out(1008, "signed out: sign in again"));
        assert!(!signed_out(1008, "too many invalid frames"));
        assert!(!signed_out(1001, "signed out"));
    }

    #[test]
    fn the_queue_keeps_order_and_its_bound() {
        let mut q = SendQueue::new(3);
        for m in ["a", "b", "c", "d"] {
            q.push(m.into());
        }
        assert_eq!(q.drain(), ["b", "c", "d"]);
        assert!(q.is_empty());
    }
}
