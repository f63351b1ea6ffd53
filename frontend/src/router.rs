//! The app's router: which page the address shows, same-origin links
//! followed without a reload, back and forward.
//!
//! - [`provide_router`]: the [`Location`] (path and query as signals), kept
//!   in step with the address bar (`popstate`), and one click listener on
//!   the document that turns a click on any same-origin `<a href>` into
//!   [`navigate`] (a new tab, a download, an `/api` link or an in-page
//!   `#anchor` is left to the browser).
//! - [`use_location`], [`use_navigate`], [`use_query_map`]: for pages.
//!
//! The app's routes are a handful of fixed paths (`lib.rs` matches them);
//! leptos_router did this with nested-route machinery that was about a
//! tenth of the first load (docs/benchmarks.md, "App size").

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// Where the app is.
#[derive(Clone, Copy)]
pub struct Location {
    /// The path, such as `/chat`.
    pub pathname: Memo<String>,
    /// The query, without its `?`.
    pub search: Memo<String>,
    href: RwSignal<(String, String)>,
}

fn address() -> (String, String) {
    let loc = window().location();
    let search = loc.search().unwrap_or_default();
    (
        loc.pathname().unwrap_or_default(),
        search.strip_prefix('?').unwrap_or(&search).to_owned(),
    )
}

/// Starts following the address; call once, above every page.
pub fn provide_router() -> Location {
    let href = RwSignal::new(address());
    let location = Location {
        pathname: Memo::new(move |_| href.with(|h| h.0.clone())),
        search: Memo::new(move |_| href.with(|h| h.1.clone())),
        href,
    };
    provide_context(location);
    let on_pop = Closure::<dyn FnMut()>::new(move || href.set(address()));
    let _ = window().add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
    on_pop.forget();
    let on_click =
        Closure::<dyn FnMut(web_sys::MouseEvent)>::new(move |ev: web_sys::MouseEvent| {
            if let Some(to) = followed_link(&ev) {
                ev.prevent_default();
                navigate(location, &to);
            }
        });
    let _ = document().add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
    on_click.forget();
    location
}

/// The in-app address a click goes to, if the router should follow it.
fn followed_link(ev: &web_sys::MouseEvent) -> Option<String> {
    if ev.default_prevented()
        || ev.button() != 0
        || ev.meta_key()
        || ev.ctrl_key()
        || ev.shift_key()
        || ev.alt_key()
    {
        return None;
    }
    let target: web_sys::Element = ev.target()?.dyn_into().ok()?;
    let a: web_sys::HtmlAnchorElement = target.closest("a[href]").ok()??.dyn_into().ok()?;
    let target_attr = a.target();
    if a.has_attribute("download")
        || !(target_attr.is_empty() || target_attr == "_self")
        || a.origin() != window().location().origin().ok()?
    {
        return None;
    }
    let (path, search) = (a.pathname(), a.search());
    let here = address();
    let same_page = path == here.0 && search.strip_prefix('?').unwrap_or(&search) == here.1;
    if path.starts_with("/api/") || (same_page && !a.hash().is_empty()) {
        return None;
    }
    Some(format!("{path}{search}"))
}

/// Shows `to` (a path with its query): a new history entry, the page at
/// the top.
pub fn navigate(location: Location, to: &str) {
    let Ok(history) = window().history() else {
        return;
    };
    if history
        .push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(to))
        .is_ok()
    {
        location.href.set(address());
        window().scroll_to_with_x_and_y(0.0, 0.0);
    }
}

pub fn use_location() -> Location {
    expect_context::<Location>()
}

/// `navigate` for this app's location.
pub fn use_navigate() -> impl Fn(&str) + Copy + Send + Sync + 'static {
    let location = use_location();
    move |to: &str| navigate(location, to)
}

/// The query's parameters, decoded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(search: &str) -> Self {
        let decode = |s: &str| {
            let s = s.replace('+', " ");
            js_sys::decode_uri_component(&s)
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or(s)
        };
        Self(
            search
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (decode(k), decode(v))
                })
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
}

pub fn use_query_map() -> Memo<Query> {
    let location = use_location();
    Memo::new(move |_| location.search.with(|s| Query::parse(s)))
}

/// Sets the document's title: "`title` · Chorus", or "Chorus".
pub fn set_title(title: &str) {
    let text = if title.is_empty() {
        "Chorus".to_owned()
    } else {
        format!("{title} · Chorus")
    };
    document().set_title(&text);
}
