//! `/docs`: the API reference, rendered from the server's OpenAPI and
//! AsyncAPI documents by our own small renderer (`frontend/apidocs/`,
//! copied to `dist/apidocs/`): an `<api-docs>` custom element whose script
//! this page loads on first visit. The app's wasm carries only this page,
//! so no other page's first load grows.

use crate::components::page::PageHeader;
use leptos::prelude::*;

/// The renderer's script, served from `dist/`.
const RENDERER: &str = "/apidocs/api-docs.js";

#[component]
pub fn Docs() -> impl IntoView {
    Effect::new(move |_| load_renderer());
    view! {
        <PageHeader
            title="API reference"
            lead="Every HTTP route, socket and stream of this server, for programs that use it."
        />
        <api-docs class="api-docs"></api-docs>
    }
}

/// Adds the renderer's `<script type="module">` once; the browser defines
/// `<api-docs>` when it runs (and upgrades the element already there).
fn load_renderer() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if document.get_element_by_id("api-docs-renderer").is_some() {
        return;
    }
    let Ok(script) = document.create_element("script") else {
        return;
    };
    let _ = script.set_attribute("id", "api-docs-renderer");
    let _ = script.set_attribute("type", "module");
    let _ = script.set_attribute("src", RENDERER);
    if let Some(head) = document.head() {
        let _ = head.append_child(&script);
    }
}
