//! The personas page's state, and how the persona protocol's messages change it. Plain
//! logic (no signals), tested natively; the page keeps one in a signal and
//! renders it.
//!
//! It remembers the last `seq` of every stream, so that after a reconnect it
//! can `resume` each unfinished stream and ignore anything seen twice.

use shared::ErrorCode;
use shared::personas::{Persona, PersonaStream};
use shared::stream::FinishStatus;
use shared::ws::{ClientMessage, ResponseData, ResumeData, ServerMessage, StreamStatus};
use std::collections::HashMap;

/// Which request the composer sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `multi_chat`: every chosen persona at once.
    Panel,
    /// `chat`: one persona, with the conversation so far.
    Chat,
    /// `openai_chat`: the model, continued by `previous_response_id`.
    Model,
}

/// Where one persona's answer stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnState {
    Waiting,
    Streaming,
    Done,
    Stopped,
    Failed(String),
}

/// One persona's column in the panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub persona: Persona,
    pub stream_id: Option<String>,
    pub text: String,
    pub state: ColumnState,
}

impl Column {
    /// Tokens so far, by the server's approximation (4 characters a token).
    pub fn tokens(&self) -> usize {
        self.text.chars().count().div_ceil(4)
    }

    pub fn is_running(&self) -> bool {
        matches!(self.state, ColumnState::Waiting | ColumnState::Streaming)
    }
}

/// A turn of a single conversation (Chat and Model modes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// `user` or `assistant`.
    pub role: String,
    pub text: String,
    /// Who answered (assistant turns).
    pub speaker: String,
    /// Still arriving.
    pub streaming: bool,
    pub stream_id: Option<String>,
}

/// What the page should do after a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    None,
    /// A reply finished: refresh the usage meter.
    RefreshUsage,
    /// The request was refused as a whole: put the question back in the
    /// composer.
    RestoreDraft(String),
}

/// An earlier panel question and its answers, kept above the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    pub question: String,
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PanelState {
    /// The current panel question.
    pub question: String,
    /// Its answers, one column per persona.
    pub columns: Vec<Column>,
    /// Earlier panel questions and their answers, oldest first.
    pub earlier: Vec<Round>,
    pub turns: Vec<Turn>,
    /// The last `seq` seen per stream.
    pub last_seq: HashMap<String, u64>,
    /// Streams not yet finished (resumed after a reconnect).
    pub open_streams: Vec<String>,
    /// For `openai_chat`: the id that continues the conversation.
    pub previous_response_id: Option<String>,
    /// A request is being answered.
    pub busy: bool,
    /// The last refusal or failure, for the page's banner.
    pub error: Option<String>,
    /// The anonymous limit was reached: show the sign-in prompt.
    pub limit_reached: bool,
}

impl PanelState {
    /// A new panel question to `personas`: the current one moves up to the
    /// earlier rounds.
    pub fn start_panel(&mut self, question: &str, personas: Vec<Persona>) {
        if !self.columns.is_empty() {
            self.earlier.push(Round {
                question: std::mem::take(&mut self.question),
                columns: std::mem::take(&mut self.columns),
            });
        }
        self.question = question.to_owned();
        self.columns = personas
            .into_iter()
            .map(|persona| Column {
                persona,
                stream_id: None,
                text: String::new(),
                state: ColumnState::Waiting,
            })
            .collect();
        self.busy = true;
        self.error = None;
    }

    /// Adds the user's turn and an empty reply for `speaker`.
    pub fn start_turn(&mut self, message: &str, speaker: &str) {
        self.turns.push(Turn {
            role: "user".into(),
            text: message.to_owned(),
            speaker: "You".into(),
            streaming: false,
            stream_id: None,
        });
        self.turns.push(Turn {
            role: "assistant".into(),
            text: String::new(),
            speaker: speaker.to_owned(),
            streaming: true,
            stream_id: None,
        });
        self.busy = true;
        self.error = None;
    }

    /// Finished turns, for the `history` of the next `chat`.
    pub fn history(&self) -> Vec<shared::personas::HistoryTurn> {
        self.turns
            .iter()
            .filter(|t| !t.streaming && !t.text.is_empty())
            .map(|t| shared::personas::HistoryTurn {
                role: shared::Role::parse(&t.role).unwrap_or(shared::Role::User),
                content: t.text.clone(),
            })
            .collect()
    }

    /// The `resume` messages to send after a reconnect.
    pub fn resume_messages(&self) -> Vec<ClientMessage> {
        self.open_streams
            .iter()
            .map(|id| ClientMessage::Resume {
                data: ResumeData {
                    stream_id: id.clone(),
                    after_seq: self.last_seq.get(id).copied().unwrap_or(0),
                },
            })
            .collect()
    }

    /// The streams of the current panel still answering ("Stop all").
    pub fn running_streams(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| c.is_running())
            .filter_map(|c| c.stream_id.clone())
            .collect()
    }

    /// The request was refused before any stream began: take its round (or
    /// turn) off the screen, bring the earlier answers back, and return the
    /// question to the composer.
    fn refused(&mut self) -> Effect {
        let panel_refused = !self.columns.is_empty()
            && self
                .columns
                .iter()
                .all(|c| c.stream_id.is_none() && c.state == ColumnState::Waiting);
        if panel_refused {
            let question = std::mem::take(&mut self.question);
            let previous = self.earlier.pop();
            self.columns = Vec::new();
            if let Some(round) = previous {
                self.question = round.question;
                self.columns = round.columns;
            }
            return Effect::RestoreDraft(question);
        }
        let turn_refused = self
            .turns
            .last()
            .is_some_and(|t| t.streaming && t.text.is_empty() && t.stream_id.is_none());
        if turn_refused && self.turns.len() >= 2 {
            self.turns.pop();
            if let Some(user) = self.turns.pop() {
                return Effect::RestoreDraft(user.text);
            }
        }
        Effect::None
    }

    /// Applies one message from the server.
    pub fn apply(&mut self, msg: &ServerMessage) -> Effect {
        if let Some((id, seq)) = stream_ref(msg) {
            let last = self.last_seq.entry(id.clone()).or_insert(0);
            if seq <= *last {
                return Effect::None; // seen before a reconnect
            }
            *last = seq;
            if !self.open_streams.contains(&id) {
                self.open_streams.push(id);
            }
        }
        match msg {
            ServerMessage::Status {
                persona_streams: Some(streams),
                ..
            } => {
                self.link_streams(streams);
                Effect::None
            }
            ServerMessage::Status {
                status: StreamStatus::Streaming,
                stream_id,
                ..
            } => {
                if let Some(c) = self.column_for(stream_id.as_deref(), None) {
                    c.state = ColumnState::Streaming;
                }
                Effect::None
            }
            ServerMessage::Chunk {
                chunk,
                persona_id,
                stream_id,
                ..
            } => {
                if let Some(c) = self.column_for(stream_id.as_deref(), persona_id.as_deref()) {
                    c.text.push_str(chunk);
                    if c.state == ColumnState::Waiting {
                        c.state = ColumnState::Streaming;
                    }
                } else if let Some(t) = self.streaming_turn(stream_id.as_deref()) {
                    t.text.push_str(chunk);
                }
                Effect::None
            }
            ServerMessage::PersonaResponse {
                persona_id,
                response,
                stream_id,
                ..
            } => {
                if let Some(id) = stream_id {
                    self.open_streams.retain(|s| s != id);
                }
                if let Some(c) = self.column_for(stream_id.as_deref(), Some(persona_id)) {
                    c.text = response.clone();
                    if c.is_running() {
                        c.state = ColumnState::Done;
                    }
                }
                Effect::None
            }
            ServerMessage::Response {
                status,
                data,
                stream_id,
                ..
            } => {
                if let Some(id) = stream_id {
                    self.open_streams.retain(|s| s != id);
                }
                if let ResponseData::Panel(panel) = data {
                    for r in &panel.responses {
                        let id = r.persona_id.as_str();
                        if let Some(c) = self.columns.iter_mut().find(|c| c.persona.id == id) {
                            c.state = match (r.finish, &c.state) {
                                (_, ColumnState::Failed(m)) => ColumnState::Failed(m.clone()),
                                (FinishStatus::Stopped, _) => ColumnState::Stopped,
                                (FinishStatus::Failed, _) => {
                                    ColumnState::Failed("no answer".into())
                                }
                                _ => ColumnState::Done,
                            };
                        }
                    }
                    self.busy = false;
                    return Effect::RefreshUsage;
                }
                if let ResponseData::Openai(openai) = data
                    && !openai.response_id.is_empty()
                {
                    self.previous_response_id = Some(openai.response_id.clone());
                }
                let text = match data {
                    ResponseData::Chat(c) => Some(c.response.clone()),
                    ResponseData::Openai(o) => Some(o.output_text.clone()),
                    ResponseData::Panel(_) => None,
                };
                if let Some(t) = self.streaming_turn(stream_id.as_deref()) {
                    if let Some(text) = text {
                        t.text = text;
                    }
                    t.streaming = false;
                    if status == "stopped" {
                        t.text.push_str(" [stopped]");
                    }
                }
                self.busy = false;
                Effect::RefreshUsage
            }
            // The stream's server went away (a cluster): its column or
            // turn keeps what arrived and says why it ends there.
            ServerMessage::Error {
                code: ErrorCode::StreamInterrupted,
                stream_id: Some(id),
                ..
            } => {
                let why = crate::components::reply_status::INTERRUPTED.to_owned();
                self.open_streams.retain(|s| s != id);
                if let Some(c) = self
                    .columns
                    .iter_mut()
                    .find(|c| c.stream_id.as_deref() == Some(id.as_str()))
                {
                    c.state = ColumnState::Failed(why.clone());
                }
                if let Some(t) = self.streaming_turn(Some(id)) {
                    t.streaming = false;
                }
                self.busy = self.columns.iter().any(Column::is_running);
                self.error = Some(why);
                Effect::RefreshUsage
            }
            ServerMessage::Error {
                message,
                code,
                persona_id: Some(pid),
                ..
            } => {
                if *code == ErrorCode::AnonLimitReached {
                    self.limit_reached = true;
                }
                if let Some(c) = self.columns.iter_mut().find(|c| &c.persona.id == pid) {
                    c.state = ColumnState::Failed(message.clone());
                }
                Effect::None
            }
            ServerMessage::Error { message, code, .. } => {
                if *code == ErrorCode::AnonLimitReached {
                    self.limit_reached = true;
                }
                if matches!(code, ErrorCode::StreamExpired) {
                    return Effect::None;
                }
                self.error = Some(message.clone());
                if self.busy {
                    self.busy = false;
                    let effect = self.refused();
                    if effect != Effect::None {
                        return effect;
                    }
                }
                for c in self
                    .columns
                    .iter_mut()
                    .filter(|c| c.is_running() && c.stream_id.is_none())
                {
                    c.state = ColumnState::Failed(message.clone());
                }
                if let Some(t) = self.turns.last_mut().filter(|t| t.streaming) {
                    t.streaming = false;
                    if t.text.is_empty() {
                        self.turns.pop();
                    }
                }
                Effect::None
            }
            _ => Effect::None,
        }
    }

    fn link_streams(&mut self, streams: &[PersonaStream]) {
        for s in streams {
            if let Some(c) = self
                .columns
                .iter_mut()
                .find(|c| c.persona.id == s.persona_id)
            {
                c.stream_id = Some(s.stream_id.clone());
            }
        }
    }

    fn column_for(
        &mut self,
        stream_id: Option<&str>,
        persona_id: Option<&str>,
    ) -> Option<&mut Column> {
        let by_stream = stream_id.and_then(|id| {
            self.columns
                .iter()
                .position(|c| c.stream_id.as_deref() == Some(id))
        });
        let index = by_stream.or_else(|| {
            let pid = persona_id?;
            // Only a column that has no stream yet may be claimed by persona.
            self.columns
                .iter()
                .position(|c| c.persona.id == pid && c.stream_id.is_none())
        })?;
        let c = &mut self.columns[index];
        if c.stream_id.is_none() {
            c.stream_id = stream_id.map(str::to_owned);
        }
        Some(c)
    }

    fn streaming_turn(&mut self, stream_id: Option<&str>) -> Option<&mut Turn> {
        let t = self
            .turns
            .iter_mut()
            .rev()
            .find(|t| t.role == "assistant" && t.streaming)?;
        if t.stream_id.is_none() {
            t.stream_id = stream_id.map(str::to_owned);
        }
        Some(t)
    }
}

fn stream_ref(msg: &ServerMessage) -> Option<(String, u64)> {
    let (id, seq) = match msg {
        ServerMessage::Status { stream_id, seq, .. }
        | ServerMessage::Chunk { stream_id, seq, .. }
        | ServerMessage::Response { stream_id, seq, .. }
        | ServerMessage::PersonaResponse { stream_id, seq, .. }
        | ServerMessage::Error { stream_id, seq, .. } => (stream_id, seq),
        _ => return None,
    };
    Some((id.clone()?, (*seq)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn persona(id: &str) -> Persona {
        Persona {
            id: id.into(),
            name: id.into(),
            avatar: "🙂".into(),
            description: String::new(),
            style: String::new(),
            kind: "builtin".into(),
        }
    }

    fn msg(v: serde_json::Value) -> ServerMessage {
        crate::json::wire::tests::same(&v)
    }

    fn panel() -> PanelState {
        let mut s = PanelState::default();
        s.start_panel("q", vec![persona("a"), persona("b")]);
        s.apply(&msg(json!({"type":"status","status":"starting","message":"…",
            "persona_streams":[{"persona_id":"a","stream_id":"sa","index":0},{"persona_id":"b","stream_id":"sb","index":1}],
            "stream_id":"panel","seq":1})));
        s
    }

    #[test]
    fn a_column_whose_server_went_away_keeps_its_text_and_says_so() {
        let mut s = panel();
        s.apply(&msg(
            json!({"type":"chunk","chunk":"Half","is_final":false,"persona_id":"a","stream_id":"sa","seq":2}),
        ));
        s.apply(&msg(
            json!({"type":"error","status":"error","code":"STREAM_INTERRUPTED",
            "error":"gone","message":"gone","text":"Ha","stream_id":"sa","seq":3,"timestamp":"t"}),
        ));
        let why = crate::components::reply_status::INTERRUPTED.to_owned();
        assert_eq!(s.columns[0].text, "Half");
        assert_eq!(s.columns[0].state, ColumnState::Failed(why.clone()));
        assert!(s.columns[1].is_running(), "the other persona goes on");
        assert!(s.busy);
        assert_eq!(s.error, Some(why));
    }

    #[test]
    fn chunks_fill_their_own_column() {
        let mut s = panel();
        s.apply(&msg(json!({"type":"chunk","chunk":"Hel","is_final":false,"persona_id":"a","stream_id":"sa","seq":1})));
        s.apply(&msg(json!({"type":"chunk","chunk":"Yo","is_final":false,"persona_id":"b","stream_id":"sb","seq":1})));
        s.apply(&msg(json!({"type":"chunk","chunk":"lo","is_final":false,"persona_id":"a","stream_id":"sa","seq":2})));
        assert_eq!(s.columns[0].text, "Hello");
        assert_eq!(s.columns[1].text, "Yo");
        assert_eq!(s.columns[0].state, ColumnState::Streaming);
        assert_eq!(s.columns[0].tokens(), 2);
    }

    #[test]
    fn events_seen_twice_after_a_resume_are_ignored() {
        let mut s = panel();
        let c = msg(
            json!({"type":"chunk","chunk":"Hi","is_final":false,"persona_id":"a","stream_id":"sa","seq":1}),
        );
        s.apply(&c);
        s.apply(&c);
        assert_eq!(s.columns[0].text, "Hi");
        let resumes = s.resume_messages();
        assert!(resumes.contains(&ClientMessage::Resume {
            data: ResumeData {
                stream_id: "sa".into(),
                after_seq: 1
            }
        }));
    }

    #[test]
    fn the_final_response_settles_every_column_and_asks_for_usage() {
        let mut s = panel();
        s.apply(&msg(json!({"type":"persona_response","persona_id":"a","response":"Full A","index":0,"stream_id":"sa","seq":5})));
        let effect = s.apply(&msg(json!({"type":"response","status":"completed","stream_id":"panel","seq":3,
            "data":{"message":"q","responses":[
                {"persona_id":"a","persona_name":"a","index":0,"response":"Full A","finish":"completed"},
                {"persona_id":"b","persona_name":"b","index":1,"response":"B","finish":"stopped"}]}})));
        assert_eq!(effect, Effect::RefreshUsage);
        assert_eq!(s.columns[0].text, "Full A");
        assert_eq!(s.columns[0].state, ColumnState::Done);
        assert_eq!(s.columns[1].state, ColumnState::Stopped);
        assert!(!s.busy);
        assert!(!s.open_streams.contains(&"panel".to_owned()));
    }

    #[test]
    fn a_refused_persona_fails_alone_and_the_limit_is_noted() {
        let mut s = panel();
        s.apply(&msg(
            json!({"type":"error","status":"error","message":"used up","code":"ANON_LIMIT_REACHED",
            "timestamp":"t","persona_id":"b","stream_id":"panel","seq":2}),
        ));
        assert_eq!(s.columns[1].state, ColumnState::Failed("used up".into()));
        assert!(s.columns[0].is_running());
        assert!(s.limit_reached);
    }

    #[test]
    fn a_chat_turn_streams_and_keeps_the_response_id() {
        let mut s = PanelState::default();
        s.start_turn("hello", "Model");
        s.apply(&msg(
            json!({"type":"chunk","chunk":"Hi ","is_final":false,"stream_id":"s1","seq":3}),
        ));
        s.apply(&msg(
            json!({"type":"chunk","chunk":"there","is_final":false,"stream_id":"s1","seq":4}),
        ));
        assert_eq!(s.turns[1].text, "Hi there");
        s.apply(&msg(json!({"type":"response","status":"completed","stream_id":"s1","seq":7,
            "data":{"response_id":"resp_1","output_text":"Hi there","model":"m","finish":"completed",
                    "usage":{"prompt_tokens":1,"completion_tokens":2}}})));
        assert_eq!(s.previous_response_id.as_deref(), Some("resp_1"));
        assert!(!s.turns[1].streaming);
        assert_eq!(s.history().len(), 2);
    }

    #[test]
    fn a_refused_request_shows_its_error_and_frees_the_composer() {
        let mut s = PanelState::default();
        s.start_turn("hello", "Chef");
        s.apply(&msg(
            json!({"type":"error","status":"error","message":"message must not be empty",
            "code":"VALIDATION_ERROR","timestamp":"t"}),
        ));
        assert_eq!(s.error.as_deref(), Some("message must not be empty"));
        assert!(!s.busy);
        assert!(s.turns.is_empty(), "the refused turn is removed");
    }

    #[test]
    fn a_refused_panel_keeps_the_earlier_answers_and_gives_the_question_back() {
        let mut s = panel();
        s.apply(&msg(json!({"type":"persona_response","persona_id":"a","response":"A","index":0,"stream_id":"sa","seq":5})));
        s.apply(&msg(json!({"type":"response","status":"completed","stream_id":"panel","seq":3,
            "data":{"message":"q","responses":[
                {"persona_id":"a","persona_name":"a","index":0,"response":"A","finish":"completed"},
                {"persona_id":"b","persona_name":"b","index":1,"response":"B","finish":"completed"}]}})));
        s.start_panel("again", vec![persona("a"), persona("b")]);
        assert_eq!((s.earlier.len(), s.question.as_str()), (1, "again"));
        let effect = s.apply(&msg(
            json!({"type":"error","status":"error","message":"used up",
            "code":"ANON_LIMIT_REACHED","timestamp":"t"}),
        ));
        assert_eq!(effect, Effect::RestoreDraft("again".into()));
        assert!(s.limit_reached && !s.busy);
        assert_eq!(
            (s.question.as_str(), s.columns[0].text.as_str()),
            ("q", "A")
        );
        assert!(s.earlier.is_empty());
    }
}
