//! Pages whose content is drawn by a script of their own (`/docs`,
//! `/admin`): the script, a custom element's module copied to `dist/` by
//! trunk, is added to the document on the page's first visit, so the app's
//! first load does not carry it.

/// Adds `<script type="module" id=… src=…>` once; the browser defines the
/// page's element when it runs (and upgrades the element already there).
pub fn load_module(id: &str, src: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if document.get_element_by_id(id).is_some() {
        return;
    }
    let Ok(script) = document.create_element("script") else {
        return;
    };
    let _ = script.set_attribute("id", id);
    let _ = script.set_attribute("type", "module");
    let _ = script.set_attribute("src", src);
    if let Some(head) = document.head() {
        let _ = head.append_child(&script);
    }
}
