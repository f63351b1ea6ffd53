//! The chat page's state, and how the hybrid chat protocol's events change it: the
//! management channel's [`ServerMessage`]s and the reply streams'
//! [`ServerEvent`]s ([`ReplyEvent`]: with the last word of a stream whose
//! server went away, `STREAM_INTERRUPTED`). Plain logic, tested natively;
//! the page only renders it.

use crate::json::{FromJson, Json, JsonError};
use shared::ErrorCode;
use shared::auth::Usage;
use shared::chat::{Chat, Message, ServerEvent, ServerMessage};
use shared::stream::{FinishStatus, Interrupted};

/// One message on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bubble {
    /// The saved message's id (a reply's is known from `assistant_typing`;
    /// a just-sent user message has none yet).
    pub id: Option<String>,
    /// `user` or `assistant`.
    pub role: String,
    /// Every version of a reply, oldest first; one entry for anything else.
    pub versions: Vec<String>,
    /// Which version is shown.
    pub shown: usize,
    /// Text arriving now (replaces the shown version while streaming).
    pub streaming: Option<String>,
    /// How the reply's newest version ended (`stopped`, `failed`: cut
    /// short; the page says so and offers Retry).
    pub status: FinishStatus,
    /// Its newest version was cut because the server writing it stopped
    /// (`status` is `failed`): the page says so, the text being what was
    /// saved.
    pub interrupted: bool,
}

impl Bubble {
    /// What the bubble shows.
    pub fn text(&self) -> &str {
        match &self.streaming {
            Some(t) => t,
            None => self
                .versions
                .get(self.shown)
                .map(String::as_str)
                .unwrap_or(""),
        }
    }

    /// Ends the streaming reply as failed with `text` (kept even when empty
    /// if the bubble has no other version): shown, with Retry.
    fn end_failed(&mut self, text: String, interrupted: bool) {
        if !text.is_empty() || self.versions.is_empty() {
            self.versions.push(text);
            self.shown = self.versions.len() - 1;
            self.status = FinishStatus::Failed;
            self.interrupted = interrupted;
        }
    }

    fn from_message(m: &Message) -> Self {
        let versions = if m.versions.is_empty() {
            vec![m.content.clone()]
        } else {
            m.versions.clone()
        };
        Self {
            id: Some(m.id.clone()),
            role: m.role.as_str().to_owned(),
            shown: versions.len() - 1,
            versions,
            streaming: None,
            status: m.status,
            interrupted: m.interrupted,
        }
    }

    /// The reply was cut short (stopped or failed) and its newest version
    /// is the one shown.
    pub fn cut_short(&self) -> Option<FinishStatus> {
        (self.streaming.is_none()
            && self.status != FinishStatus::Completed
            && self.shown + 1 >= self.versions.len())
        .then_some(self.status)
    }
}

/// An event of a reply stream: the hybrid chat protocol's own, or the
/// last word of a stream whose server went away (in a cluster): an
/// `assistant_error` with `STREAM_INTERRUPTED` and the text it saved.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyEvent {
    Chat(ServerEvent),
    Interrupted(Interrupted),
}

impl FromJson for ReplyEvent {
    fn from_json(v: Json) -> Result<Self, JsonError> {
        let code = v.get("code").and_then(Json::as_str);
        if code == Some(ErrorCode::StreamInterrupted.as_str()) {
            Interrupted::from_json(v).map(Self::Interrupted)
        } else {
            ServerEvent::from_json(v).map(Self::Chat)
        }
    }
}

impl ReplyEvent {
    /// The stream ends with it (every reply stream ends with `usage_info`,
    /// one cut by its server with the interruption).
    pub fn is_last(&self) -> bool {
        matches!(
            self,
            Self::Chat(ServerEvent::UsageInfo(_)) | Self::Interrupted(_)
        )
    }
}

/// What the page must show besides the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// `ANON_LIMIT_REACHED`: sign in to keep chatting (the message is kept).
    SignIn(String),
    /// `INSUFFICIENT_BALANCE`: no credits left.
    TopUp(String),
    /// Anything else that went wrong.
    Error(String),
}

/// What the page should do after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    Nothing,
    /// A new chat was started: show it (put its id in the URL).
    Open(String),
    /// The message was refused: put it back in the composer.
    RestoreDraft(String),
    /// The current chat changed elsewhere: list its messages again.
    Reload,
    /// The current chat was deleted: leave it.
    Leave,
    /// An edit was refused and not saved: open message `.0`'s editor again
    /// with the text `.1`.
    RestoreEdit(String, String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatState {
    /// The sidebar, most recently active first.
    pub chats: Vec<Chat>,
    /// The open chat.
    pub current: Option<String>,
    pub bubbles: Vec<Bubble>,
    /// A reply is being written (send or regenerate).
    pub busy: bool,
    pub usage: Option<Usage>,
    pub notice: Option<Notice>,
    /// The text of the message being answered, until the reply starts.
    pending: Option<String>,
    /// The user's message being edited and resent (its id and new text),
    /// until the reply starts.
    pending_edit: Option<(String, String)>,
}

impl ChatState {
    /// Opens `chat` (or a new, empty conversation for `None`).
    pub fn open(&mut self, chat: Option<String>) {
        if self.current != chat {
            self.current = chat;
            self.bubbles.clear();
            self.busy = false;
        }
    }

    /// The user sent `text`: it shows at once, and a reply is awaited.
    pub fn sent(&mut self, text: &str) {
        self.bubbles.push(Bubble {
            id: None,
            role: "user".into(),
            versions: vec![text.to_owned()],
            shown: 0,
            streaming: None,
            status: FinishStatus::Completed,
            interrupted: false,
        });
        self.pending = Some(text.to_owned());
        self.busy = true;
        self.notice = None;
    }

    /// The user asked for another version of reply `id`.
    pub fn regenerating(&mut self, id: &str) {
        if let Some(b) = self.bubble_mut(id) {
            b.streaming = Some(String::new());
        }
        self.busy = true;
        self.notice = None;
    }

    /// The user edited message `id` to `text` and resent it: the new text
    /// shows at once as its newest version, and the reply after it (if
    /// any) is written again.
    pub fn edited(&mut self, id: &str, text: &str) {
        let Some(at) = self
            .bubbles
            .iter()
            .position(|b| b.id.as_deref() == Some(id))
        else {
            return;
        };
        let b = &mut self.bubbles[at];
        b.versions.push(text.to_owned());
        b.shown = b.versions.len() - 1;
        if let Some(reply) = self
            .bubbles
            .get_mut(at + 1)
            .filter(|b| b.role == "assistant")
        {
            reply.streaming = Some(String::new());
        }
        self.pending_edit = Some((id.to_owned(), text.to_owned()));
        self.busy = true;
        self.notice = None;
    }

    /// The user stopped the reply: keep what arrived.
    pub fn stopped(&mut self) {
        for b in &mut self.bubbles {
            if let Some(text) = b.streaming.take()
                && !text.is_empty()
            {
                b.versions.push(text);
                b.shown = b.versions.len() - 1;
                b.status = FinishStatus::Stopped;
            }
        }
        self.bubbles.retain(|b| !b.versions.is_empty());
        self.busy = false;
        self.pending = None;
        self.pending_edit = None;
    }

    /// A reply stream could not start (a 4xx before the stream).
    pub fn refused(&mut self, message: String) -> Then {
        self.busy = false;
        for b in &mut self.bubbles {
            b.streaming = None;
        }
        self.notice = Some(Notice::Error(message));
        self.restore_draft()
    }

    /// Takes a refused edit off the screen (it was not saved).
    fn undo_edit(&mut self) -> Option<Then> {
        let (id, text) = self.pending_edit.take()?;
        if let Some(b) = self.bubble_mut(&id)
            && b.versions.len() > 1
            && b.versions.last() == Some(&text)
        {
            b.versions.pop();
            b.shown = b.versions.len() - 1;
        }
        Some(Then::RestoreEdit(id, text))
    }

    /// Shows the previous (`-1`) or next (`+1`) version of reply `id`.
    pub fn step_version(&mut self, id: &str, step: i32) {
        if let Some(b) = self.bubble_mut(id) {
            let next = b.shown as i64 + i64::from(step);
            if (0..b.versions.len() as i64).contains(&next) {
                b.shown = next as usize;
            }
        }
    }

    /// The id of the last reply, which may be regenerated.
    pub fn last_reply(&self) -> Option<&str> {
        self.bubbles
            .last()
            .filter(|b| b.role == "assistant")
            .and_then(|b| b.id.as_deref())
    }

    fn bubble_mut(&mut self, id: &str) -> Option<&mut Bubble> {
        self.bubbles
            .iter_mut()
            .find(|b| b.id.as_deref() == Some(id))
    }

    fn restore_draft(&mut self) -> Then {
        if let Some(then) = self.undo_edit() {
            return then;
        }
        // The refused message was not saved: take it off the screen.
        if self
            .bubbles
            .last()
            .is_some_and(|b| b.role == "user" && b.id.is_none())
        {
            self.bubbles.pop();
        }
        match self.pending.take() {
            Some(text) => Then::RestoreDraft(text),
            None => Then::Nothing,
        }
    }

    fn notice_for(code: ErrorCode, error: &str) -> Notice {
        match code {
            ErrorCode::AnonLimitReached => Notice::SignIn(error.to_owned()),
            ErrorCode::InsufficientBalance => Notice::TopUp(error.to_owned()),
            _ => Notice::Error(error.to_owned()),
        }
    }

    /// Applies a management message.
    pub fn apply(&mut self, msg: &ServerMessage) -> Then {
        match msg {
            ServerMessage::ChatsList { chats, .. } => self.chats = chats.clone(),
            ServerMessage::MessagesList {
                chat_id, messages, ..
            } if self.current.as_deref() == Some(chat_id) => {
                // A reply being written stays on screen below the history.
                let live: Vec<Bubble> = self
                    .bubbles
                    .iter()
                    .filter(|b| {
                        b.streaming.is_some()
                            && !messages.iter().any(|m| Some(&m.id) == b.id.as_ref())
                    })
                    .cloned()
                    .collect();
                let mut bubbles: Vec<Bubble> = messages.iter().map(Bubble::from_message).collect();
                for b in &mut bubbles {
                    if let Some(l) = self
                        .bubbles
                        .iter()
                        .find(|l| l.id == b.id && l.streaming.is_some())
                    {
                        b.streaming = l.streaming.clone();
                    }
                }
                bubbles.extend(live);
                self.bubbles = bubbles;
            }
            ServerMessage::MessagesList { .. } => {}
            ServerMessage::UsageInfo(u) => self.usage = Some(u.clone()),
            ServerMessage::ChatRenamed { chat } => {
                if let Some(c) = self.chats.iter_mut().find(|c| c.id == chat.id) {
                    *c = chat.clone();
                }
            }
            ServerMessage::ChatUpdated { chat } => {
                self.chats.retain(|c| c.id != chat.id);
                self.chats.insert(0, chat.clone());
                if self.current.as_deref() == Some(&chat.id) && !self.busy {
                    return Then::Reload;
                }
            }
            ServerMessage::ChatDeleted { chat_id } => {
                self.chats.retain(|c| &c.id != chat_id);
                if self.current.as_deref() == Some(chat_id) {
                    self.open(None);
                    return Then::Leave;
                }
            }
            ServerMessage::AssistantError { code, error } => {
                // The stream says the same; this covers a closed stream.
                if self.notice.is_none() {
                    self.notice = Some(Self::notice_for(*code, error));
                }
            }
            ServerMessage::Error { error, .. } => {
                self.notice = Some(Notice::Error(error.clone()));
            }
            ServerMessage::Pong => {}
        }
        Then::Nothing
    }

    /// Applies an event of a reply stream, or its interruption.
    pub fn apply_reply(&mut self, ev: &ReplyEvent) -> Then {
        match ev {
            ReplyEvent::Chat(ev) => self.apply_event(ev),
            ReplyEvent::Interrupted(cut) => {
                self.interrupted(cut);
                Then::Nothing
            }
        }
    }

    /// Drops replies that ended with nothing to show.
    fn drop_empty_replies(&mut self) {
        self.bubbles
            .retain(|b| !b.versions.is_empty() || b.role == "user");
    }

    /// The server writing the reply went away: the reply keeps the text
    /// that arrived, or the text the server saved when that is more (a
    /// page that re-attached late), and shows as interrupted, with Retry.
    /// (Not listed again: the chat gets the reply once the server that
    /// took over has put it back.)
    pub fn interrupted(&mut self, cut: &Interrupted) {
        self.busy = false;
        self.pending = None;
        self.pending_edit = None;
        for b in &mut self.bubbles {
            let Some(arrived) = b.streaming.take() else {
                continue;
            };
            let text = if cut.text.len() > arrived.len() {
                cut.text.clone()
            } else {
                arrived
            };
            b.end_failed(text, true);
        }
        self.drop_empty_replies();
    }

    /// Applies an event of a reply stream.
    pub fn apply_event(&mut self, ev: &ServerEvent) -> Then {
        match ev {
            ServerEvent::AssistantTyping {
                chat_id,
                message_id,
            } => {
                self.pending = None;
                self.pending_edit = None;
                self.busy = true;
                let new_chat = self.current.as_deref() != Some(chat_id);
                self.current = Some(chat_id.clone());
                if self.bubble_mut(message_id).is_none() {
                    self.bubbles.push(Bubble {
                        id: Some(message_id.clone()),
                        role: "assistant".into(),
                        versions: Vec::new(),
                        shown: 0,
                        streaming: Some(String::new()),
                        status: FinishStatus::Completed,
                        interrupted: false,
                    });
                }
                if new_chat {
                    return Then::Open(chat_id.clone());
                }
            }
            ServerEvent::AssistantRegenerating { message_id, .. } => {
                self.pending = None;
                self.pending_edit = None;
                self.regenerating(message_id);
            }
            ServerEvent::AssistantDelta { delta } => {
                if let Some(t) = self
                    .bubbles
                    .iter_mut()
                    .rev()
                    .find_map(|b| b.streaming.as_mut())
                {
                    t.push_str(delta);
                }
            }
            ServerEvent::AssistantComplete {
                message_id,
                content,
                status,
                ..
            } => {
                if let Some(b) = self.bubble_mut(message_id) {
                    b.streaming = None;
                    b.versions = vec![content.clone()];
                    b.shown = 0;
                    b.status = *status;
                    b.interrupted = false;
                }
                self.busy = false;
                // The list gives the user's message its id (to edit it).
                return Then::Reload;
            }
            ServerEvent::AssistantRegenerated {
                message_id,
                content,
                version,
                status,
                ..
            } => {
                if let Some(b) = self.bubble_mut(message_id) {
                    b.streaming = None;
                    b.versions.truncate(*version);
                    b.versions.push(content.clone());
                    b.shown = b.versions.len() - 1;
                    b.status = *status;
                    b.interrupted = false;
                }
                self.busy = false;
            }
            ServerEvent::AssistantError { error, code, .. } => {
                self.busy = false;
                let refused = matches!(
                    code,
                    ErrorCode::AnonLimitReached | ErrorCode::InsufficientBalance
                );
                for b in &mut self.bubbles {
                    let Some(text) = b.streaming.take() else {
                        continue;
                    };
                    // The server keeps a failed reply as written (a new one
                    // even when empty): show it as failed, with Retry.
                    // (A list that came in meanwhile may hold it already.)
                    let listed = b.versions.last() == Some(&text);
                    if !refused && !listed {
                        b.end_failed(text, false);
                    }
                }
                self.drop_empty_replies();
                self.notice = Some(Self::notice_for(*code, error));
                if refused {
                    return self.restore_draft();
                }
                self.pending = None;
                self.pending_edit = None;
            }
            ServerEvent::UsageInfo(u) => self.usage = Some(u.clone()),
        }
        Then::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(v: serde_json::Value) -> ServerEvent {
        crate::json::wire::tests::same(&v)
    }

    fn msg(v: serde_json::Value) -> ServerMessage {
        crate::json::wire::tests::same(&v)
    }

    fn texts(s: &ChatState) -> Vec<&str> {
        s.bubbles.iter().map(Bubble::text).collect()
    }

    #[test]
    fn a_first_message_opens_its_new_chat_and_streams_the_reply() {
        let mut s = ChatState::default();
        s.sent("Hello");
        assert!(s.busy);
        let then = s.apply_event(&ev(
            json!({"type": "assistant_typing", "chat_id": "c1", "message_id": "m1"}),
        ));
        assert_eq!(then, Then::Open("c1".into()));
        s.apply_event(&ev(json!({"type": "assistant_delta", "delta": "Hi "})));
        s.apply_event(&ev(json!({"type": "assistant_delta", "delta": "there"})));
        assert_eq!(texts(&s), ["Hello", "Hi there"]);
        s.apply_event(&ev(json!({"type": "assistant_complete", "message_id": "m1", "chat_id": "c1",
            "content": "Hi there!", "status": "completed", "usage": {"prompt_tokens": 1, "completion_tokens": 2}})));
        assert!(!s.busy);
        assert_eq!(texts(&s), ["Hello", "Hi there!"]);
        assert_eq!(s.last_reply(), Some("m1"));
        s.apply_event(&ev(json!({"type": "usage_info", "used": 1, "limit": 3, "remaining": 2, "kind": "anonymous"})));
        assert_eq!(s.usage.as_ref().unwrap().remaining, 2);
    }

    #[test]
    fn the_anonymous_limit_asks_to_sign_in_and_gives_the_message_back() {
        let mut s = ChatState::default();
        s.open(Some("c1".into()));
        s.sent("one more");
        let then = s.apply_event(&ev(
            json!({"type": "assistant_error", "error": "sign up", "code": "ANON_LIMIT_REACHED"}),
        ));
        assert_eq!(then, Then::RestoreDraft("one more".into()));
        assert_eq!(s.notice, Some(Notice::SignIn("sign up".into())));
        assert!(
            s.bubbles.is_empty(),
            "the refused message is not shown as sent"
        );
        assert!(!s.busy);
        // The socket's copy of the error changes nothing more.
        s.apply(&msg(
            json!({"type": "assistant_error", "error": "x", "code": "ANON_LIMIT_REACHED"}),
        ));
        assert_eq!(s.notice, Some(Notice::SignIn("sign up".into())));
    }

    #[test]
    fn no_credits_is_a_top_up_notice() {
        let mut s = ChatState::default();
        s.sent("hi");
        s.apply_event(&ev(
            json!({"type": "assistant_error", "error": "broke", "code": "INSUFFICIENT_BALANCE"}),
        ));
        assert_eq!(s.notice, Some(Notice::TopUp("broke".into())));
    }

    #[test]
    fn regenerate_adds_a_version_and_arrows_switch_between_them() {
        let mut s = ChatState::default();
        s.open(Some("c1".into()));
        s.apply(&msg(json!({"type": "messages_list", "chat_id": "c1", "page": 0, "total": 2, "messages": [
            {"id": "u1", "chat_id": "c1", "role": "user", "content": "Q", "created_at": "t"},
            {"id": "a1", "chat_id": "c1", "role": "assistant", "content": "A0", "versions": ["A0"], "created_at": "t"}
        ]})));
        s.regenerating("a1");
        s.apply_event(&ev(
            json!({"type": "assistant_regenerating", "chat_id": "c1", "message_id": "a1"}),
        ));
        s.apply_event(&ev(json!({"type": "assistant_delta", "delta": "A"})));
        assert_eq!(texts(&s), ["Q", "A"]);
        s.apply_event(&ev(
            json!({"type": "assistant_regenerated", "chat_id": "c1", "message_id": "a1",
            "content": "A1", "version": 1, "status": "completed"}),
        ));
        assert_eq!(texts(&s), ["Q", "A1"]);
        s.step_version("a1", -1);
        assert_eq!(texts(&s), ["Q", "A0"]);
        s.step_version("a1", -1);
        assert_eq!(texts(&s), ["Q", "A0"], "no version before the first");
        s.step_version("a1", 1);
        assert_eq!((texts(&s)[1], s.bubbles[1].versions.len()), ("A1", 2));
    }

    #[test]
    fn an_edit_adds_a_version_of_the_message_and_writes_its_reply_again() {
        let mut s = ChatState::default();
        s.open(Some("c1".into()));
        s.apply(&msg(json!({"type": "messages_list", "chat_id": "c1", "page": 0, "total": 4, "messages": [
            {"id": "u1", "chat_id": "c1", "role": "user", "content": "Q", "created_at": "t"},
            {"id": "a1", "chat_id": "c1", "role": "assistant", "content": "A0", "versions": ["A0"], "created_at": "t"},
            {"id": "u2", "chat_id": "c1", "role": "user", "content": "Q2", "created_at": "t"},
            {"id": "a2", "chat_id": "c1", "role": "assistant", "content": "B", "versions": ["B"], "created_at": "t"}
        ]})));
        s.edited("u1", "Q edited");
        assert!(s.busy);
        assert_eq!(texts(&s), ["Q edited", "", "Q2", "B"]);
        s.apply_event(&ev(
            json!({"type": "assistant_regenerating", "chat_id": "c1", "message_id": "a1"}),
        ));
        s.apply_event(&ev(json!({"type": "assistant_delta", "delta": "New"})));
        assert_eq!(
            texts(&s),
            ["Q edited", "New", "Q2", "B"],
            "the edited turn streams, not the last"
        );
        s.apply_event(&ev(
            json!({"type": "assistant_regenerated", "chat_id": "c1", "message_id": "a1",
            "content": "New answer", "version": 1, "status": "completed"}),
        ));
        assert_eq!(texts(&s), ["Q edited", "New answer", "Q2", "B"]);
        s.step_version("u1", -1);
        assert_eq!(texts(&s)[0], "Q", "the first text is kept");
        // The list after a reload has both texts.
        s.apply(&msg(json!({"type": "messages_list", "chat_id": "c1", "page": 0, "total": 2, "messages": [
            {"id": "u1", "chat_id": "c1", "role": "user", "content": "Q edited", "versions": ["Q", "Q edited"], "created_at": "t"},
            {"id": "a1", "chat_id": "c1", "role": "assistant", "content": "New answer", "versions": ["A0", "New answer"], "created_at": "t"}
        ]})));
        assert_eq!((texts(&s)[0], s.bubbles[0].versions.len()), ("Q edited", 2));
    }

    #[test]
    fn a_refused_edit_is_taken_back_and_its_text_returned_to_the_editor() {
        let mut s = ChatState::default();
        s.open(Some("c1".into()));
        s.apply(&msg(json!({"type": "messages_list", "chat_id": "c1", "page": 0, "total": 2, "messages": [
            {"id": "u1", "chat_id": "c1", "role": "user", "content": "Q", "created_at": "t"},
            {"id": "a1", "chat_id": "c1", "role": "assistant", "content": "A", "versions": ["A"], "created_at": "t"}
        ]})));
        s.edited("u1", "Q2");
        let then = s.apply_event(&ev(
            json!({"type": "assistant_error", "error": "sign up", "code": "ANON_LIMIT_REACHED"}),
        ));
        assert_eq!(then, Then::RestoreEdit("u1".into(), "Q2".into()));
        assert_eq!(texts(&s), ["Q", "A"]);
        assert_eq!(s.bubbles[0].versions.len(), 1);
        assert!(!s.busy);
        // Refused before the stream (a 4xx): the same.
        s.edited("u1", "Q3");
        assert_eq!(
            s.refused("too long".into()),
            Then::RestoreEdit("u1".into(), "Q3".into())
        );
        assert_eq!(texts(&s), ["Q", "A"]);
    }

    #[test]
    fn a_finished_reply_lists_the_chat_again_so_the_message_gets_its_id() {
        let mut s = ChatState::default();
        s.sent("Hello");
        s.apply_event(&ev(
            json!({"type": "assistant_typing", "chat_id": "c1", "message_id": "m1"}),
        ));
        let then = s.apply_event(&ev(json!({"type": "assistant_complete", "message_id": "m1", "chat_id": "c1",
            "content": "Hi", "status": "completed", "usage": {"prompt_tokens": 1, "completion_tokens": 1}})));
        assert_eq!(then, Then::Reload);
        assert_eq!(s.bubbles[0].id, None);
    }

    #[test]
    fn the_sidebar_follows_news_from_other_tabs() {
        let chat = |id: &str, title: &str| json!({"id": id, "title": title, "created_at": "t", "updated_at": "t"});
        let mut s = ChatState::default();
        s.apply(&msg(json!({"type": "chats_list", "page": 0, "total": 2, "chats": [chat("a", "A"), chat("b", "B")]})));
        s.apply(&msg(
            json!({"type": "chat_updated", "chat": chat("b", "B")}),
        ));
        assert_eq!(
            s.chats.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ["b", "a"]
        );
        s.apply(&msg(
            json!({"type": "chat_renamed", "chat": chat("a", "Renamed")}),
        ));
        assert_eq!(s.chats[1].title, "Renamed");
        s.open(Some("a".into()));
        assert_eq!(
            s.apply(&msg(
                json!({"type": "chat_updated", "chat": chat("a", "Renamed")})
            )),
            Then::Reload
        );
        assert_eq!(
            s.apply(&msg(json!({"type": "chat_deleted", "chat_id": "a"}))),
            Then::Leave
        );
        assert_eq!((s.chats.len(), s.current.as_deref()), (1, None));
    }

    #[test]
    fn a_reply_reattached_after_a_refresh_joins_the_history() {
        let mut s = ChatState::default();
        s.open(Some("c1".into()));
        s.apply(&msg(
            json!({"type": "messages_list", "chat_id": "c1", "page": 0, "total": 1, "messages": [
                {"id": "u1", "chat_id": "c1", "role": "user", "content": "Q", "created_at": "t"}
            ]}),
        ));
        // The re-attached stream replays from its start.
        assert_eq!(
            s.apply_event(&ev(
                json!({"type": "assistant_typing", "chat_id": "c1", "message_id": "m1"})
            )),
            Then::Nothing
        );
        s.apply_event(&ev(json!({"type": "assistant_delta", "delta": "Part"})));
        assert_eq!(texts(&s), ["Q", "Part"]);
        assert!(s.busy);
        // A stop keeps what arrived.
        s.stopped();
        assert_eq!(texts(&s), ["Q", "Part"]);
        assert!(!s.busy);
    }

    fn reply(v: serde_json::Value) -> ReplyEvent {
        crate::json::decode(&v.to_string()).unwrap()
    }

    fn interruption(text: &str) -> ReplyEvent {
        reply(
            json!({"type": "assistant_error", "status": "error", "code": "STREAM_INTERRUPTED",
            "error": "the server running this stream went away", "message": "gone",
            "text": text, "stream_id": "s1", "seq": 9, "timestamp": "t"}),
        )
    }

    #[test]
    fn a_reply_whose_server_went_away_keeps_its_text_shows_interrupted_and_can_be_retried() {
        let mut s = ChatState::default();
        s.sent("Hi");
        for e in [
            json!({"type": "assistant_typing", "chat_id": "c1", "message_id": "m1"}),
            json!({"type": "assistant_delta", "delta": "Half a "}),
            json!({"type": "assistant_delta", "delta": "story"}),
        ] {
            let e = reply(e);
            assert!(!e.is_last());
            s.apply_reply(&e);
        }
        let cut = interruption("Half a");
        assert!(cut.is_last(), "the stream ends with it");
        assert_eq!(s.apply_reply(&cut), Then::Nothing);
        assert!(!s.busy);
        let b = s.bubbles.last().unwrap();
        assert_eq!(
            b.text(),
            "Half a story",
            "what arrived is more than was saved"
        );
        assert!(b.interrupted);
        assert_eq!(b.cut_short(), Some(FinishStatus::Failed));
        assert_eq!(s.last_reply(), Some("m1"), "it can be retried");
        assert_eq!(s.notice, None, "not a generic error");
        // A regenerate replaces it with a whole version.
        s.regenerating("m1");
        s.apply_reply(&reply(
            json!({"type": "assistant_regenerated", "chat_id": "c1",
            "message_id": "m1", "content": "Whole", "version": 1, "status": "completed"}),
        ));
        let b = s.bubbles.last().unwrap();
        assert_eq!(
            (b.text(), b.interrupted, b.cut_short()),
            ("Whole", false, None)
        );
    }

    #[test]
    fn a_reply_reattached_late_gets_the_saved_text_of_its_interruption() {
        let mut s = ChatState::default();
        s.open(Some("c1".into()));
        s.apply_reply(&reply(
            json!({"type": "assistant_typing", "chat_id": "c1", "message_id": "m1"}),
        ));
        s.apply_reply(&interruption("Saved before the crash"));
        let b = s.bubbles.last().unwrap();
        assert_eq!(b.text(), "Saved before the crash");
        assert!(b.interrupted && !s.busy);
        // Listed after a reload, as the server put it back.
        s.apply(&msg(
            json!({"type": "messages_list", "chat_id": "c1", "page": 0, "total": 1,
            "messages": [{"id": "m1", "chat_id": "c1", "role": "assistant",
            "content": "Saved before the crash", "versions": ["Saved before the crash"],
            "created_at": "t", "status": "failed", "interrupted": true}]}),
        ));
        let b = &s.bubbles[0];
        assert_eq!(b.text(), "Saved before the crash");
        assert!(b.interrupted && b.cut_short() == Some(FinishStatus::Failed));
    }

    #[test]
    fn a_cut_reply_shows_as_failed_and_keeps_what_arrived_even_nothing() {
        let mut s = ChatState::default();
        s.sent("Hi");
        s.apply_event(&ev(
            json!({"type":"assistant_typing","chat_id":"c1","message_id":"m1"}),
        ));
        s.apply_event(&ev(json!({"type":"assistant_delta","delta":"Half a"})));
        s.apply_event(&ev(
            json!({"type":"assistant_error","error":"cut off","code":"PROVIDER_INCOMPLETE"}),
        ));
        let reply = s.bubbles.last().unwrap();
        assert_eq!(reply.text(), "Half a");
        assert_eq!(reply.cut_short(), Some(FinishStatus::Failed));
        assert_eq!(s.last_reply(), Some("m1"), "it can be retried");
        assert_eq!(reply.versions.len(), 1);
        // Failed before a word: still a reply to retry. The saved (empty)
        // reply, listed while it was written, is not shown twice.
        s.sent("Again");
        s.apply_event(&ev(
            json!({"type":"assistant_typing","chat_id":"c1","message_id":"m2"}),
        ));
        s.apply(&msg(
            json!({"type":"messages_list","chat_id":"c1","page":0,"total":2,"messages":[
            {"id":"m2","chat_id":"c1","role":"assistant","content":"","versions":[""],
             "created_at":"2025-01-01T00:00:00Z","status":"failed"}]}),
        ));
        s.apply_event(&ev(
            json!({"type":"assistant_error","error":"down","code":"PROVIDER_UNAVAILABLE"}),
        ));
        let reply = s.bubbles.last().unwrap();
        assert_eq!(
            (reply.text(), reply.cut_short()),
            ("", Some(FinishStatus::Failed))
        );
        assert_eq!(reply.versions.len(), 1);
        // A list from the server brings the status back after a reload.
        s.apply(&msg(
            json!({"type":"messages_list","chat_id":"c1","page":0,"total":1,"messages":[
            {"id":"m1","chat_id":"c1","role":"assistant","content":"Half a","versions":["Half a"],
             "created_at":"2025-01-01T00:00:00Z","status":"stopped"}]}),
        ));
        assert_eq!(s.bubbles[0].cut_short(), Some(FinishStatus::Stopped));
    }
}
