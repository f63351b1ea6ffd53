//! Entry point of the wasm app: panic hook, then mount.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(chorus_app::App);
}
