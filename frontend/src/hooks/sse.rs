//! `use_sse`: server-sent events over `fetch`, so streams can be `POST` and
//! carry an `Authorization` header (the browser's `EventSource` can do
//! neither).
//!
//! - [`SseParser`] turns bytes into events (plain, tested natively).
//! - Generic over the protocol's event type `Ev` (a `shared` `ServerEvent`),
//!   as the socket hook is over its `Tx`/`Rx`: each event's `data` is
//!   decoded once, through `api::parse_json`; one that does not decode is
//!   dropped.
//! - A dropped connection, or a body that ends before the stream's last
//!   event, is resumed: `GET /api/streams/{id}` with `Last-Event-ID`, after
//!   1 s, 2 s, 4 s … (at most `max_retries` times, then a clear message).
//! - `cancel` aborts the request and stops the stream on the server; the
//!   request is aborted when the component unmounts.

use crate::api::Auth;
use crate::hooks::connection::{Backoff, ConnState};
use crate::json::{FromJson, Json};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// One server-sent event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

/// The `text/event-stream` format, fed in pieces as they arrive.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: String,
    current: SseEvent,
    has_data: bool,
}

impl SseParser {
    /// Adds text; returns the events it completed.
    pub fn feed(&mut self, text: &str) -> Vec<SseEvent> {
        self.buffer.push_str(text);
        let mut out = Vec::new();
        while let Some(end) = self.buffer.find('\n') {
            let line: String = self.buffer.drain(..=end).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if self.has_data {
                    out.push(std::mem::take(&mut self.current));
                    self.has_data = false;
                } else {
                    self.current = SseEvent::default();
                }
                continue;
            }
            if line.starts_with(':') {
                continue; // a comment (keep-alive)
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "data" => {
                    if self.has_data {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(value);
                    self.has_data = true;
                }
                "id" => self.current.id = Some(value.to_owned()),
                "event" => self.current.event = Some(value.to_owned()),
                _ => {}
            }
        }
        out
    }
}

/// What to open.
#[derive(Debug, Clone)]
pub struct SseRequest {
    pub method: &'static str,
    pub path: String,
    /// A JSON body for `POST`.
    pub body: Option<String>,
}

/// One event of a stream, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered<Ev> {
    /// The event's `id:` as a number (the stream's `seq`), when it has one.
    pub seq: Option<u64>,
    pub event: Ev,
}

/// Options of [`use_sse_with_options`], for a protocol whose events are `Ev`.
pub struct UseSseOptions<Ev: 'static> {
    /// Every event, in order, exactly once.
    pub on_event: Callback<Delivered<Ev>>,
    /// Whether an event ends the stream (a body that ends before one is a
    /// dropped connection).
    pub is_last: fn(&Ev) -> bool,
    pub max_retries: u32,
}

/// What the hook gives a component.
#[derive(Clone, Copy)]
pub struct UseSseReturn {
    pub state: Signal<ConnState>,
    /// Why the stream could not go on, when it gave up.
    pub error: Signal<Option<String>>,
    pub start: Callback<SseRequest>,
    pub cancel: Callback<()>,
}

/// The hook's state; the events are handed on as parsed JSON (`on_event`
/// decodes them), so the reading code is not instantiated per protocol.
#[derive(Clone, Copy)]
struct Ctx {
    auth: Callback<(), Auth>,
    /// An event's id and data; whether it was the last.
    on_event: Callback<(Option<u64>, Json), bool>,
    max_retries: u32,
    set_state: WriteSignal<ConnState>,
    set_error: WriteSignal<Option<String>>,
    /// The running request's controller, to abort it.
    abort: StoredValue<Option<web_sys::AbortController>, LocalStorage>,
    /// The stream being read, and the last event id seen.
    stream: StoredValue<(Option<String>, Option<String>)>,
    /// Bumped by each start/cancel: older runs stop themselves.
    run: StoredValue<u64>,
}

pub fn use_sse_with_options<Ev: FromJson + 'static>(
    auth: Callback<(), Auth>,
    options: UseSseOptions<Ev>,
) -> UseSseReturn {
    let (state, set_state) = signal(ConnState::Idle);
    let (error, set_error) = signal(None::<String>);
    let (on_event, is_last) = (options.on_event, options.is_last);
    let ctx = Ctx {
        auth,
        on_event: Callback::new(move |(seq, data): (Option<u64>, Json)| {
            let Ok(event) = Ev::from_json(data) else {
                return false;
            };
            let last = is_last(&event);
            on_event.run(Delivered { seq, event });
            last
        }),
        max_retries: options.max_retries,
        set_state,
        set_error,
        abort: StoredValue::new_local(None),
        stream: StoredValue::new((None, None)),
        run: StoredValue::new(0),
    };
    on_cleanup(move || {
        ctx.run.try_update_value(|r| *r += 1);
        ctx.abort.try_update_value(|a| {
            if let Some(a) = a.take() {
                a.abort();
            }
        });
    });
    let start = Callback::new(move |req: SseRequest| {
        ctx.run.update_value(|r| *r += 1);
        let run = ctx.run.get_value();
        ctx.stream.set_value((None, None));
        set_error.set(None);
        spawn_local(drive(ctx, run, req));
    });
    let cancel = Callback::new(move |()| {
        ctx.run.update_value(|r| *r += 1);
        if let Some(a) = ctx.abort.try_update_value(|a| a.take()).flatten() {
            a.abort();
        }
        set_state.set(ConnState::Idle);
        if let (Some(id), _) = ctx.stream.get_value() {
            let auth = ctx.auth.run(());
            spawn_local(async move {
                let _ = crate::api::post::<_, Json>(
                    &format!("/api/streams/{id}/stop"),
                    &Json::Obj(Vec::new()),
                    &auth,
                )
                .await;
            });
        }
    });
    UseSseReturn {
        state: state.into(),
        error: error.into(),
        start,
        cancel,
    }
}

/// Reads the stream, resuming after drops, until its last event.
async fn drive(ctx: Ctx, run: u64, first: SseRequest) {
    let mut backoff = Backoff::new(30);
    let mut request = first;
    loop {
        if ctx.run.get_value() != run {
            return;
        }
        ctx.set_state.set(ConnState::Connecting);
        let outcome = read_once(&ctx, run, &request).await;
        if ctx.run.get_value() != run {
            return;
        }
        match outcome {
            Read::Finished => {
                ctx.set_state.set(ConnState::Idle);
                return;
            }
            Read::Refused(message) => {
                ctx.set_error.set(Some(message));
                ctx.set_state.set(ConnState::Closed);
                return;
            }
            Read::Dropped => {
                let (Some(id), last) = ctx.stream.get_value() else {
                    ctx.set_error.set(Some(
                        "The connection was lost before the stream began.".into(),
                    ));
                    ctx.set_state.set(ConnState::Closed);
                    return;
                };
                if backoff.failures >= ctx.max_retries {
                    ctx.set_error.set(Some(
                        "The connection keeps dropping, so the stream was given up. What was made is saved; reload to see it."
                            .into(),
                    ));
                    ctx.set_state.set(ConnState::Closed);
                    return;
                }
                let wait = backoff.fail();
                ctx.set_state.set(ConnState::Reconnecting { in_secs: wait });
                gloo_timers::future::sleep(std::time::Duration::from_secs(u64::from(wait))).await;
                let after = last.unwrap_or_else(|| "0".into());
                request = SseRequest {
                    method: "GET",
                    path: format!("/api/streams/{id}?after={after}"),
                    body: None,
                };
            }
        }
    }
}

enum Read {
    /// The stream's last event arrived.
    Finished,
    /// The server said no (4xx/5xx): no point retrying.
    Refused(String),
    /// The connection broke, or the body ended early.
    Dropped,
}

async fn read_once(ctx: &Ctx, run: u64, req: &SseRequest) -> Read {
    let Some(window) = web_sys::window() else {
        return Read::Dropped;
    };
    let Ok(controller) = web_sys::AbortController::new() else {
        return Read::Dropped;
    };
    let init = web_sys::RequestInit::new();
    init.set_method(req.method);
    init.set_signal(Some(&controller.signal()));
    let headers = web_sys::Headers::new().expect("headers");
    let _ = headers.set("Accept", "text/event-stream");
    match ctx.auth.run(()) {
        Auth::Token(t) => {
            let _ = headers.set("Authorization", &format!("Bearer {t}"));
        }
        Auth::Anon(id) => {
            let _ = headers.set(shared::auth::ANON_ID_HEADER, &id);
        }
        Auth::None => {}
    }
    if let Some(body) = &req.body {
        let _ = headers.set("Content-Type", "application/json");
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    let Ok(request) = web_sys::Request::new_with_str_and_init(&req.path, &init) else {
        return Read::Dropped;
    };
    ctx.abort.set_value(Some(controller));
    let Ok(res) = JsFuture::from(window.fetch_with_request(&request)).await else {
        return Read::Dropped;
    };
    let res: web_sys::Response = res.unchecked_into();
    if !res.ok() {
        let text = match res.text() {
            Ok(p) => JsFuture::from(p)
                .await
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        let message = crate::api::parse_json::<shared::ApiError>(&text)
            .map(|e| e.error)
            .unwrap_or_else(|_| format!("the server answered {}", res.status()));
        return Read::Refused(message);
    }
    // 204: nothing to stream (a re-attach with no reply running).
    if res.status() == 204 {
        ctx.abort.set_value(None);
        return Read::Finished;
    }
    if let Ok(Some(id)) = res.headers().get("x-stream-id") {
        ctx.stream.update_value(|(s, _)| *s = Some(id));
    }
    ctx.set_state.set(ConnState::Open);
    let Some(body) = res.body() else {
        return Read::Dropped;
    };
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let decoder = web_sys::TextDecoder::new().expect("a text decoder");
    let opts = web_sys::TextDecodeOptions::new();
    opts.set_stream(true);
    let mut parser = SseParser::default();
    loop {
        if ctx.run.get_value() != run {
            return Read::Finished;
        }
        let Ok(chunk) = JsFuture::from(reader.read()).await else {
            return Read::Dropped;
        };
        let done = js_sys::Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        if done {
            return Read::Dropped;
        }
        let Ok(value) = js_sys::Reflect::get(&chunk, &"value".into()) else {
            return Read::Dropped;
        };
        let bytes: js_sys::Uint8Array = value.unchecked_into();
        let text = decoder
            .decode_with_js_u8_array_and_options(&bytes, &opts)
            .unwrap_or_default();
        for ev in parser.feed(&text) {
            if let Some(id) = &ev.id {
                ctx.stream
                    .update_value(|(_, last)| *last = Some(id.clone()));
            }
            let Ok(data) = crate::api::parse_json::<Json>(&ev.data) else {
                continue;
            };
            if ev.id.is_none() && ctx.stream.with_value(|(s, _)| s.is_none()) {
                // Streams name themselves in every event's JSON too.
                if let Some(sid) = data.get("stream_id").and_then(Json::as_str) {
                    let sid = sid.to_owned();
                    ctx.stream.update_value(|(s, _)| *s = Some(sid));
                }
            }
            let seq = ev.id.as_deref().and_then(|i| i.parse().ok());
            if ctx.on_event.run((seq, data)) {
                ctx.abort.set_value(None);
                return Read::Finished;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_parsed_across_arbitrary_splits() {
        let raw = ": keep-alive\n\nid: 1\ndata: {\"a\":1}\n\nevent: delta\r\nid: 2\r\ndata: line one\r\ndata: line two\r\n\r\n";
        for split in 1..raw.len() {
            let mut p = SseParser::default();
            let mut out = p.feed(&raw[..split]);
            out.extend(p.feed(&raw[split..]));
            assert_eq!(out.len(), 2, "split at {split}");
            assert_eq!(
                out[0],
                SseEvent {
                    id: Some("1".into()),
                    event: None,
                    data: "{\"a\":1}".into()
                }
            );
            assert_eq!(out[1].event.as_deref(), Some("delta"));
            assert_eq!(out[1].data, "line one\nline two");
        }
    }
}
