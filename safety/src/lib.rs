//! The crisis classifier of the support conversations: a risk level for
//! each message, the cues behind it, and the aim of the reply.
//!
//! Embedded and explainable: no network, no model. A message is read as a
//! person would read it, in steps:
//!
//! 1. [`text`]: normalised into clauses of words (shorthand, misspellings,
//!    emoji and laughter written out).
//! 2. [`lexicon`]: cues found by small patterns ([`pattern`]), each with a
//!    category (suicidal thoughts, method, intent and timing, preparation,
//!    self-harm, harm to others, hopelessness, distress) and a weight.
//! 3. [`assess`]: each cue read in its clause: who is its subject (the
//!    writer, or someone else: a friend at risk is `medium`, with a reply
//!    that helps the writer help them), whether it is negated ("I'm not
//!    going to hurt myself"), in the past or told as recovery, an idiom
//!    ("dead tired"), fiction, news or study, or hyperbole (laughter, a
//!    trivial cause); the weights left add up, with the session's last
//!    messages ([`assess_in_context`]), to a level.
//!
//! Every decision lists its cues ([`Assessment::cues`]): rule names and
//! categories, never the text, so they can be logged and stored with an
//! escalation. [`eval`] scores any labelled file (`chorus safety-eval`).
//!
//! The figures on the development set and on the held-out set (written
//! before this classifier, never tuned on) are in the README; `make test`
//! prints them.

mod assess;
pub mod eval;
mod lexicon;
mod model;
mod pattern;
mod text;

pub use assess::{Assessment, Cue, Effect, assess, assess_in_context};
pub use shared::support::{Intent, RiskLevel};

/// What a cue is evidence of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Suicidal thoughts, passive or active.
    Ideation,
    /// A method or the means.
    Method,
    /// Intent, timing, goodbyes.
    Intent,
    /// Preparation: possessions, letters, research, care for others.
    Preparation,
    /// Self-harm acts and urges.
    SelfHarm,
    /// Harm to others.
    HarmToOthers,
    /// Hopelessness that says nothing of dying.
    Hopelessness,
    /// Distress without danger.
    Distress,
    /// When: tonight, this weekend (adds to other cues only).
    Timing,
    /// Markers that change how cues are read.
    Plan,
    Reported,
    Laughter,
    Serious,
    Fiction,
    Trivial,
    Recovery,
    Past,
    Present,
    Idiom,
    /// An everyday reason: moving, a trip, a wedding, a new job.
    Ordinary,
}

impl Category {
    /// The name used in explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ideation => "ideation",
            Self::Method => "method",
            Self::Intent => "intent",
            Self::Preparation => "preparation",
            Self::SelfHarm => "self_harm",
            Self::HarmToOthers => "harm_to_others",
            Self::Hopelessness => "hopelessness",
            Self::Distress => "distress",
            Self::Timing => "timing",
            Self::Plan => "plan",
            Self::Reported => "reported",
            Self::Laughter => "laughter",
            Self::Serious => "serious",
            Self::Fiction => "fiction",
            Self::Trivial => "trivial",
            Self::Recovery => "recovery",
            Self::Past => "past",
            Self::Present => "present",
            Self::Idiom => "idiom",
            Self::Ordinary => "ordinary",
        }
    }

    /// Evidence of risk (as opposed to a marker that changes other cues).
    pub(crate) fn is_risk(self) -> bool {
        matches!(
            self,
            Self::Ideation
                | Self::Method
                | Self::Intent
                | Self::Preparation
                | Self::SelfHarm
                | Self::HarmToOthers
                | Self::Hopelessness
                | Self::Timing
        )
    }
}

/// Trains the model now rather than on the first message (it takes a
/// moment: call it from a blocking task at start-up).
pub fn warm() {
    model::trained();
}

/// The risk level of one message on its own.
pub fn classify(message: &str) -> RiskLevel {
    assess(message).level
}

/// What the reply should do, given the assessment.
pub fn intent_for(assessment: &Assessment, message: &str) -> Intent {
    match assessment.level {
        RiskLevel::High => Intent::Escalate,
        RiskLevel::Medium => Intent::Explore,
        RiskLevel::Low => Intent::Validate,
        RiskLevel::None => {
            let t = message.to_lowercase();
            if t.contains('?') || t.starts_with("how") || t.starts_with("what") {
                Intent::Inform
            } else {
                Intent::Encourage
            }
        }
    }
}
