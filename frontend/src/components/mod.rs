//! Pieces every page shares.

pub mod composer;
pub mod conversation;
pub mod copy;
pub mod crisis_banner;
pub mod files;
pub mod markdown;
pub mod model_settings;
pub mod module_script;
pub mod nav;
pub mod page;
pub mod placeholder;
pub mod reply_status;
pub mod require_account;
pub mod status;
pub mod toggle;
pub mod user_menu;
