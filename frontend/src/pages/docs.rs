//! `/docs`: the API reference, rendered from the server's OpenAPI and
//! AsyncAPI documents by our own small renderer (`frontend/apidocs/`,
//! copied to `dist/apidocs/`): an `<api-docs>` custom element whose script
//! this page loads on first visit. The app's wasm carries only this page,
//! so no other page's first load grows.

use crate::components::module_script::load_module;
use crate::components::page::PageHeader;
use leptos::prelude::*;

/// The renderer's script, served from `dist/`.
const RENDERER: &str = "/apidocs/api-docs.js";

#[component]
pub fn Docs() -> impl IntoView {
    Effect::new(move |_| load_module("api-docs-renderer", RENDERER));
    view! {
        <PageHeader
            title="API reference"
            lead="Every HTTP route, socket and stream of this server, for programs that use it."
        />
        <api-docs class="api-docs"></api-docs>
    }
}
