//! Reading each cue in its clause, and adding up what is left.

use crate::lexicon::{
    FIRST_PERSON, NEGATION_BLOCKERS, NEGATORS, RULES, Rule, THIRD_PERSON, THIRD_PERSON_VERBS,
    flags::{CAUSE, HYPER, JOKE, ORD, SUBJ, THIRD, TOPIC},
};
use crate::pattern::PatternSet;
use crate::text::{self, Clause};
use crate::{Category, RiskLevel};
use std::sync::OnceLock;

/// A first-person score at or above this is high risk.
const HIGH: f32 = 1.0;
/// A first-person score at or above this (and below [`HIGH`]) is medium.
const MEDIUM: f32 = 0.5;
/// The kinds of everyday explanation, and what each explains: a reason
/// (moving house, a trip, a wedding) any cue that allows one; a means (a
/// kitchen, a headache) a method only; a family's news or its paperwork (a
/// new baby, the accountant) a preparation only, such as a will.
const REASON: usize = 0;
const MEANS: usize = 1;
const AFFAIRS: usize = 2;
/// The most that hopelessness with no other cue adds up to: medium.
const HOPELESS_ALONE: f32 = 0.9;
/// The cues that deny a story told before them ("I'm not retiring").
const DENIALS: &[&str] = &[
    "cover_denied",
    "wont_be_denied",
    "cover_believed",
    "no_such_trip",
];
/// How much of an earlier message's score carries into the next ones, most
/// recent first.
const CARRY: [f32; 3] = [0.9, 0.7, 0.5];

/// What reading a cue in its context did to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// It counts, for the writer.
    Counts,
    /// It is about someone else (a friend, a child): medium.
    SomeoneElse,
    /// Negated in its clause.
    Negated,
    /// In the past, or told as recovery.
    Past,
    /// Hyperbole: laughter or a trivial cause, nothing serious beside it.
    Hyperbole,
    /// Fiction, news, study or work.
    Fiction,
    /// A thought the writer fears and disowns (OCD's intrusive thoughts).
    Unwanted,
    /// An everyday reason: moving house, a trip, a wedding.
    Ordinary,
    /// Raised by the session's earlier messages.
    Context,
    /// Raised by the model (its probability is [`Assessment::model`]).
    Model,
}

impl Effect {
    fn as_str(self) -> &'static str {
        match self {
            Self::Counts => "",
            Self::SomeoneElse => "someone_else:",
            Self::Negated => "negated:",
            Self::Past => "past:",
            Self::Hyperbole => "hyperbole:",
            Self::Fiction => "fiction:",
            Self::Unwanted => "unwanted:",
            Self::Ordinary => "ordinary:",
            Self::Context => "context:",
            Self::Model => "model:",
        }
    }
}

/// One cue found, and what its context did to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cue {
    pub rule: &'static str,
    pub category: Category,
    pub effect: Effect,
}

impl std::fmt::Display for Cue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}:{}",
            self.effect.as_str(),
            self.category.as_str(),
            self.rule
        )
    }
}

/// The classifier's decision about one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub level: RiskLevel,
    /// The risk is someone else's (medium: help the writer help them).
    pub about_someone_else: bool,
    /// The writer's own evidence, added up (1.0 is high).
    pub score: f32,
    /// Every cue found, with what its context did to it.
    pub cues: Vec<Cue>,
    /// The model's probability of high risk (0 when the rules decided).
    pub model: f32,
    /// The markers found (laughter, fiction, trivial …), for the model.
    pub(crate) markers: Vec<&'static str>,
    /// Laughter or a trivial cause, nothing serious, nothing never a joke:
    /// hyperbole, which the model may not raise to high.
    pub(crate) jest: bool,
}

impl Assessment {
    /// The cues that decided the level, as `category:rule` names (no
    /// text): for logs and the stored escalation.
    pub fn explanation(&self) -> String {
        let mut parts: Vec<String> = self.cues.iter().map(Cue::to_string).collect();
        if self.model > 0.0 {
            parts.push(format!("p={:.2}", self.model));
        }
        parts.join(",")
    }
}

/// The rules' patterns, compiled once (in the order of `RULES`).
fn compiled() -> &'static PatternSet {
    static COMPILED: OnceLock<PatternSet> = OnceLock::new();
    COMPILED.get_or_init(|| PatternSet::compile(RULES.iter().map(|rule| rule.pattern)))
}

/// Who a cue is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    Writer,
    SomeoneElse,
    /// "Everyone", "people", a question to the listener: nobody at risk.
    Nobody,
}

/// Markers of the whole message.
#[derive(Debug, Default)]
struct Markers {
    laughter: bool,
    serious: bool,
    fiction: bool,
    trivial: bool,
    recovery: bool,
    /// Someone else's words are reported ("my friend posted ...").
    reported: bool,
    /// A relapse is told ("I relapsed. 3 cuts on my hip"): it ends the
    /// recovery the message names.
    relapse: bool,
    /// The strongest sign that harm to others is a plan, not an outburst
    /// (0.5 "going to", 1.0 a weapon, a time, "I mean it").
    plan: f32,
}

/// A cue found, where, and its weight.
#[derive(Debug, Clone, Copy)]
struct Found {
    cue: Cue,
    weight: f32,
    clause: usize,
    span: (usize, usize),
}

/// Assesses one message on its own: the rules, then the model for what
/// the rules did not find (never for someone else's risk).
pub fn assess(message: &str) -> Assessment {
    let mut a = assess_rules(message);
    // The model fills in for what the rules do not know; it never
    // overrides what they explained away: every cue found negated, in the
    // past, in fiction, for an everyday reason or in jest.
    if a.level == RiskLevel::High || a.about_someone_else || a.jest || explained_away(&a) {
        return a;
    }
    // "thank you, I called them": someone telling us they reached help,
    // with no risk cue of their own, is not escalated by the model alone.
    if !crate::model::has_risk_cue(&a) && (reached_help(message) || taken_back(message)) {
        return a;
    }
    let model = crate::model::trained();
    let p = model.probability_of(&crate::model::features(message, &a));
    a.model = p;
    if p >= crate::model::threshold(&a) {
        a.level = RiskLevel::High;
        a.cues.push(Cue {
            rule: "model",
            category: Category::Ideation,
            effect: Effect::Model,
        });
    }
    a
}

/// Whether the message's words hold any of these phrases (normalised
/// words, within one clause).
fn says(clauses: &[Clause]) -> impl Fn(&[&str]) -> bool {
    let text = format!(
        " {} ",
        clauses
            .iter()
            .map(|c| c.join(" "))
            .collect::<Vec<_>>()
            .join(" . ")
    );
    move |phrases: &[&str]| phrases.iter().any(|p| text.contains(&format!(" {p} ")))
}

/// Whether the message says the writer reached help (and not that it
/// failed them: "no answer", "on hold").
fn reached_help(message: &str) -> bool {
    let clauses = text::clauses(message);
    let has = says(&clauses);
    has(&[
        "called them",
        "rang them",
        "texted them",
        "phoned them",
        "called the line",
        "called the number",
        "texted the number",
        "called 988",
        "texted 988",
        "called 741741",
        "texted 741741",
        "called samaritans",
        "called the samaritans",
        "called the crisis line",
        "called my gp",
        "called my doctor",
        "called my therapist",
        "spoke to someone",
        "talked to someone",
        "someone is with me",
        "someone is here",
    ]) && !has(&[
        "no answer",
        "nobody answered",
        "no one answered",
        "did not answer",
        "hung up",
        "on hold",
        "could not get through",
        "did not help",
        "anyway",
        "but",
    ])
}

/// Whether the message takes back what it might sound like, with a
/// feared thought, an errand or a feeling of no risk: "disappear for a bit, like a cabin in
/// the woods, not in a bad way", "notes for the pet sitter", "what do you
/// wear to a funeral".
fn taken_back(message: &str) -> bool {
    let clauses = text::clauses(message);
    unwanted_thought(&clauses)
        || says(&clauses)(&[
            "not in a bad way",
            "not in that way",
            "not in the bad way",
            "not in a dark way",
            "not in a suicidal way",
            "do not mean it like that",
            "do not mean like that",
            "pet sitter",
            "petsitter",
            "dog sitter",
            "cat sitter",
            "house sitter",
            "what to wear",
            "what do you wear",
            "what should i wear",
            "birthday wishes",
            "birthday message",
            "happy birthday",
            "nearest pharmacy",
            "pharmacy open",
            "chemist open",
            "opening hours",
        ])
}

/// Whether the rules found cues and explained every one away.
pub(crate) fn explained_away(a: &Assessment) -> bool {
    let risk = || {
        a.cues
            .iter()
            .filter(|c| c.category.is_risk() && c.category != Category::Timing)
    };
    risk().next().is_some() && risk().all(|c| c.effect != Effect::Counts)
}

/// The rules alone.
pub(crate) fn assess_rules(message: &str) -> Assessment {
    let clauses = text::clauses(message);
    // Every rule's matches, per clause.
    let hits: Vec<Vec<Vec<(usize, usize)>>> =
        clauses.iter().map(|c| compiled().find_all(c)).collect();

    // Idiom spans per clause, and the markers of the message.
    let mut markers = Markers::default();
    let mut idioms: Vec<Vec<(usize, usize)>> = Vec::with_capacity(clauses.len());
    let mut marker_names: Vec<&'static str> = Vec::new();
    let mut past: Vec<Vec<(usize, usize)>> = Vec::with_capacity(clauses.len());
    let mut present = Vec::with_capacity(clauses.len());
    let mut fiction = Vec::with_capacity(clauses.len());
    let mut reported = Vec::with_capacity(clauses.len());
    let mut recovery: Vec<Vec<(usize, usize)>> = Vec::with_capacity(clauses.len());
    // Per clause, where each kind of everyday explanation is.
    let mut everyday: Vec<[Vec<(usize, usize)>; 3]> = Vec::with_capacity(clauses.len());
    // "told him I'm retiring. I'm not retiring": a story told, then denied.
    // "I told people I'm decluttering. I'm not.": a bare "I'm not" that
    // ends the message denies the story too.
    let denied_at = clauses.iter().enumerate().position(|(ci, c)| {
        let bare = ci > 0
            && ci + 1 == clauses.len()
            && matches!(c.join(" ").as_str(), "i am not" | "i am not really");
        bare || RULES
            .iter()
            .zip(&hits[ci])
            .any(|(rule, found)| DENIALS.contains(&rule.id) && !found.is_empty())
    });
    for (ci, clause) in clauses.iter().enumerate() {
        let mut spans = Vec::new();
        let mut past_at = Vec::new();
        let (mut is_present, mut is_fiction) = (false, false);
        let mut recovery_at = Vec::new();
        let mut explained: [Vec<(usize, usize)>; 3] = Default::default();
        let mut reported_at = usize::MAX;
        for (rule, found) in RULES.iter().zip(&hits[ci]) {
            if rule.category.is_risk() || rule.category == Category::Distress {
                continue;
            }
            if found.is_empty() {
                continue;
            }
            if !marker_names.contains(&rule.id) {
                marker_names.push(rule.id);
            }
            match rule.category {
                Category::Idiom => spans.extend(found),
                Category::Laughter => markers.laughter = true,
                Category::Serious => markers.serious = true,
                Category::Fiction => is_fiction = true,
                Category::Trivial => markers.trivial = true,
                // "asked if I'm safe": a question about recovery is none.
                Category::Recovery => {
                    // "asked if I'm safe", "my therapist thinks I'm doing
                    // better", "only doing better because I've decided":
                    // asked about, believed by someone else or the calm of
                    // a decision, it is no recovery.
                    // "I'd be grateful if I didn't wake up": a wish, no
                    // recovery.
                    let told = found.iter().filter(|&&(s, e)| {
                        !asked_if(clause, s)
                            && !cover_story(clause, s)
                            && clause.get(e).is_none_or(|w| w != "if")
                            && !clause[e..(e + 8).min(clause.len())]
                                .iter()
                                .any(|w| matches!(w.as_str(), "decided" | "mind" | "decision"))
                    });
                    let before = recovery_at.len();
                    recovery_at.extend(told);
                    markers.recovery |= recovery_at.len() > before;
                }
                Category::Ordinary => {
                    // "not in a vacation way", "she thinks I'm going
                    // travelling", "I'm not travelling" said after it,
                    // "cancelled the gym": a reason negated, a cover story,
                    // one denied later or a thing given up is no everyday
                    // reason.
                    let denied = denied_at.is_some_and(|d| d > ci);
                    let real: Vec<(usize, usize)> = found
                        .iter()
                        .copied()
                        .filter(|(s, _)| {
                            !(denied
                                || (rule.id == "ordinary" && when(clause, *s))
                                || negated(clause, *s)
                                || cover_story(clause, *s)
                                || given_up(clause, *s))
                        })
                        .collect();
                    let kind = match rule.id {
                        "ordinary_means" => MEANS,
                        "ordinary_affairs" => AFFAIRS,
                        _ => REASON,
                    };
                    explained[kind].extend(real);
                }
                Category::Reported => {
                    // "left the dog with my neighbour and wrote a note":
                    // someone named as the object of a preposition is not
                    // the one writing.
                    let reporters = found
                        .iter()
                        .map(|(s, _)| *s)
                        .filter(|&s| !object_of_preposition(clause, s));
                    if let Some(at) = reporters.min() {
                        markers.reported = true;
                        reported_at = reported_at.min(at);
                    }
                }
                Category::Plan => markers.plan = markers.plan.max(rule.weight),
                Category::Past => past_at.extend(found),
                Category::Present => is_present = true,
                _ => {}
            }
        }
        idioms.push(spans);
        past.push(past_at);
        present.push(is_present);
        fiction.push(is_fiction);
        recovery.push(recovery_at);
        everyday.push(explained);
        reported.push(reported_at);
    }
    markers.fiction = fiction.iter().any(|f| *f);
    // "I wanted to die when my son passed. That was 10 years ago.": a
    // sentence that dates the one before it puts it in the past.
    for ci in 1..clauses.len() {
        let dates = clauses[ci].len() >= 3
            && matches!(clauses[ci][0].as_str(), "that" | "this" | "it")
            && clauses[ci][1] == "was"
            && !past[ci].is_empty();
        if dates && !present[ci - 1] {
            past[ci - 1].push((0, usize::MAX));
        }
    }
    // "jk. unless", "lol jk. mostly": a joke taken back in the next breath.
    markers.serious |= clauses.windows(2).any(|pair| {
        pair[0].last().is_some_and(|w| w == "joking")
            && !pair[1].is_empty()
            && pair[1].len() <= 3
            && pair[1].iter().all(|w| {
                matches!(
                    w.as_str(),
                    "unless"
                        | "mostly"
                        | "maybe"
                        | "or"
                        | "am"
                        | "i"
                        | "not"
                        | "really"
                        | "kind"
                        | "sort"
                        | "of"
                        | "half"
                        | "kinda"
                        | "sorta"
                        | "partly"
                )
            })
    });

    markers.relapse = clauses.iter().any(|c| {
        c.iter().enumerate().any(|(k, w)| {
            matches!(w.as_str(), "relapsed" | "relapse" | "relapsing") && !negated(c, k)
        })
    });
    let unwanted = unwanted_thought(&clauses);
    let mut found: Vec<Found> = Vec::new();
    let mut distress = false;
    for (ci, clause) in clauses.iter().enumerate() {
        for (rule, matches) in RULES.iter().zip(&hits[ci]) {
            if !rule.category.is_risk() && rule.category != Category::Distress {
                continue;
            }
            for &(start, end) in matches {
                // An idiom anywhere in the cue's words: "need to cut back
                // on caffeine" is not "need to cut"; but hopelessness or a
                // threat that holds the whole idiom and says more is read
                // ("at the end of my rope", "pulling up on him with the
                // strap").
                let inside = |&(a, b): &(usize, usize)| {
                    let holds = matches!(
                        rule.category,
                        Category::Hopelessness | Category::HarmToOthers
                    ) && start <= a
                        && b <= end
                        && end - start > b - a;
                    a < end && b > start && !holds
                };
                if idioms[ci].iter().any(inside) {
                    continue;
                }
                if rule.category == Category::Distress {
                    distress |= !negated(clause, start);
                    continue;
                }
                let here = Here {
                    past: past[ci].iter().any(|&at| reaches(clause, at, start)),
                    present: present[ci],
                    fiction: fiction[ci],
                    reported_at: reported[ci],
                    recovery: !recovery[ci].is_empty(),
                    // An everyday reason near it in this clause ("giving my
                    // books away, moving abroad"), or in the clause before or
                    // after: not one told a sentence's length away in a
                    // run-on of news ("fixed the boiler, my manager is a
                    // nightmare, and I've started my goodbye letters").
                    ordinary: [
                        (REASON, true),
                        (MEANS, rule.category == Category::Method),
                        (AFFAIRS, rule.category == Category::Preparation),
                    ]
                    .iter()
                    .any(|&(kind, explains)| {
                        explains && everyday_near(&everyday, kind, ci, (start, end), clause)
                    }),
                    after_reporting: ci > 0 && ends_in_reporting(&clauses[ci - 1]),
                };
                let mut effect = read_cue(rule, clause, (start, end), here, &markers);
                if unwanted
                    && effect == Effect::Counts
                    && matches!(
                        rule.category,
                        Category::Ideation | Category::Method | Category::HarmToOthers
                    )
                {
                    effect = Effect::Unwanted;
                }
                let cue = Cue {
                    rule: rule.id,
                    category: rule.category,
                    effect,
                };
                if !found.iter().any(|f| f.cue == cue) {
                    found.push(Found {
                        cue,
                        weight: rule.weight,
                        clause: ci,
                        span: (start, end),
                    });
                }
            }
        }
    }

    // Someone else's risk colours the clauses that speak of them: "my son
    // is cutting himself, I found the blades in his room".
    if found
        .iter()
        .any(|f| f.cue.effect == Effect::SomeoneElse && f.weight >= 0.9)
    {
        for f in &mut found {
            let clause = &clauses[f.clause];
            // "... for them" is the writer acting for them: "I need to
            // know it'll pay out for them".
            let words = &clause[f.span.0..];
            let about_them = words.iter().enumerate().any(|(k, w)| {
                matches!(
                    w.as_str(),
                    "his" | "her" | "their" | "him" | "them" | "himself" | "herself" | "themselves"
                ) && !(k > 0 && matches!(words[k - 1].as_str(), "for" | "to"))
            });
            // "my brother … he's been talking about ending it": their
            // subject just before the cue, no "I" after it.
            let before = &clause[f.span.0.saturating_sub(8)..f.span.0];
            let they_say = before
                .iter()
                .rposition(|w| matches!(w.as_str(), "he" | "she" | "they"))
                .is_some_and(|k| !before[k..].iter().any(|w| w == "i" || w == "me"))
                && !clause[f.span.0..f.span.1]
                    .iter()
                    .any(|w| matches!(w.as_str(), "me" | "myself" | "my" | "i"));
            if f.cue.effect == Effect::Counts
                && (about_them || they_say)
                && f.cue.category != Category::HarmToOthers
            {
                f.cue.effect = Effect::SomeoneElse;
            }
        }
    }

    // Hyperbole: laughter or a trivial cause takes back the cues that are
    // often said in jest, unless the writer says they mean it or a cue that
    // is never a joke is there. Laughter and a trivial cause together take
    // back a method too ("might walk into the sea if they cancel my show
    // lol").
    let jest = (markers.laughter || markers.trivial) && !markers.serious;
    let never_a_joke = found.iter().any(|f| {
        f.cue.effect == Effect::Counts
            && f.weight >= 0.9
            && !rule_has(f.cue.rule, HYPER)
            && (matches!(
                f.cue.category,
                Category::Preparation | Category::SelfHarm | Category::Intent
            ) || (f.cue.category == Category::Method && !(markers.laughter && markers.trivial)))
    });
    // Nothing but the cue and the laughter: "i wanna die lol".
    let bare = clauses
        .iter()
        .flat_map(|c| c.iter())
        .filter(|w| w.as_str() != text::LAUGH)
        .count()
        <= 6;
    if jest && !never_a_joke {
        for f in &mut found {
            // A threat with a weapon, a time or "I mean it" is not a joke.
            let planned = f.cue.category == Category::HarmToOthers && markers.plan >= 1.0;
            let joke_method = (f.cue.category == Category::Method || rule_has(f.cue.rule, JOKE))
                && markers.laughter
                && markers.trivial;
            let laughter_only = rule_has(f.cue.rule, CAUSE) && !markers.trivial && bare;
            if f.cue.effect == Effect::Counts
                && (rule_has(f.cue.rule, HYPER) || joke_method)
                && !planned
                && !laughter_only
            {
                f.cue.effect = Effect::Hyperbole;
            }
        }
    }

    // The writer's evidence: each word counts once (overlapping cues give
    // the strongest weight, not the sum); harm to others is high when it is
    // a plan, not an outburst.
    let mut counted: Vec<&Found> = found
        .iter()
        .filter(|f| f.cue.effect == Effect::Counts && f.cue.category != Category::Timing)
        .collect();
    counted.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    let mut taken: Vec<(usize, (usize, usize))> = Vec::new();
    let mut score = 0.0f32;
    // Hopelessness alone is medium however much of it there is ("I can't
    // do this anymore, I'm so tired of everything"): it adds to other
    // evidence, never reaches high by itself.
    let mut hopeless = 0.0f32;
    let mut harm = false;
    for f in counted {
        // The same words: the same start, or one cue inside another.
        let overlaps = taken.iter().any(|(c, (a, b))| {
            *c == f.clause
                && (f.span.0 == *a
                    || (f.span.0 >= *a && f.span.1 <= *b)
                    || (*a >= f.span.0 && *b <= f.span.1))
        });
        if overlaps {
            harm |= f.cue.category == Category::HarmToOthers;
            continue;
        }
        taken.push((f.clause, f.span));
        if f.cue.category == Category::Hopelessness {
            hopeless += f.weight;
        } else {
            score += f.weight;
        }
        harm |= f.cue.category == Category::HarmToOthers;
    }
    score += if score > 0.0 {
        hopeless
    } else {
        hopeless.min(HOPELESS_ALONE)
    };
    if harm {
        score += 0.8 * markers.plan;
    }
    let timing = found
        .iter()
        .any(|f| f.cue.category == Category::Timing && f.cue.effect == Effect::Counts);
    if timing && score > 0.0 {
        score += 0.3;
    }
    let someone_else = found
        .iter()
        .any(|f| f.cue.effect == Effect::SomeoneElse && f.weight >= 0.5);
    let softened = found
        .iter()
        .any(|f| f.cue.effect == Effect::Past && f.cue.category.is_risk());
    let level = if score >= HIGH {
        RiskLevel::High
    } else if someone_else || score >= MEDIUM {
        RiskLevel::Medium
    } else if distress || softened || score > 0.0 {
        RiskLevel::Low
    } else {
        RiskLevel::None
    };
    Assessment {
        level,
        about_someone_else: someone_else && score < HIGH,
        score,
        cues: found.into_iter().map(|f| f.cue).collect(),
        model: 0.0,
        markers: marker_names,
        jest: jest && !never_a_joke,
    }
}

/// Assesses a message with the session's earlier user messages (oldest
/// first): risk that builds over several messages, or "I've made up my
/// mind" after "I can't do this anymore", is high. Earlier messages only
/// raise a message that has a cue of its own.
pub fn assess_in_context(message: &str, earlier: &[&str]) -> Assessment {
    let mut now = assess(message);
    if now.level == RiskLevel::High {
        return now;
    }
    let has_own_cue = now.score > 0.0
        || now
            .cues
            .iter()
            .any(|c| c.effect == Effect::Counts && c.category == Category::Timing);
    if !has_own_cue {
        return now;
    }
    let carried = earlier
        .iter()
        .rev()
        .zip(CARRY)
        .map(|(m, carry)| {
            let a = assess(m);
            let evidence = if a.level == RiskLevel::High {
                a.score.max(HIGH)
            } else {
                a.score
            };
            evidence * carry
        })
        .fold(0.0f32, f32::max);
    let timing = if now.score == 0.0 { 0.3 } else { 0.0 };
    if now.score + timing + carried >= HIGH {
        now.level = RiskLevel::High;
        now.about_someone_else = false;
        now.cues.push(Cue {
            rule: "earlier_messages",
            category: Category::Ideation,
            effect: Effect::Context,
        });
    }
    now
}

fn rule_has(id: &str, flag: u8) -> bool {
    RULES.iter().any(|r| r.id == id && r.flags & flag != 0)
}

/// What is true of the clause a cue is in.
#[derive(Debug, Clone, Copy)]
struct Here {
    past: bool,
    present: bool,
    fiction: bool,
    /// Where someone else's words are reported in the clause, if they are.
    reported_at: usize,
    /// The clause before ends "she keeps saying": this one quotes them.
    after_reporting: bool,
    /// Recovery is told in this very clause ("500 days clean today").
    recovery: bool,
    /// An everyday reason is given beside it ("before the move").
    ordinary: bool,
}

/// What the clause does to a risk cue that starts at `start`.
fn read_cue(
    rule: &Rule,
    clause: &Clause,
    (start, end): (usize, usize),
    here: Here,
    markers: &Markers,
) -> Effect {
    if negated(clause, start) {
        return Effect::Negated;
    }
    let subject = if rule.flags & THIRD != 0 {
        Subject::SomeoneElse
    } else if rule.flags & SUBJ != 0 {
        // "my dad has a gun in the closet and i've been thinking about
        // it": an "I" inside the cue is its subject.
        if clause[start + 1..end].iter().any(|w| w == "i") {
            Subject::Writer
        } else {
            subject(clause, start)
        }
    } else {
        Subject::Writer
    };
    // Someone else's words: a quotation, or "my friend posted kms" with no
    // "I" of the writer's between the reporting and the cue.
    // "my cousin said she'd take the dog if anything happened to me": a
    // cue that ends on "me" is the writer's, whoever is talking.
    let reported_here = here.reported_at < start
        && clause[end - 1] != "me"
        && !clause[here.reported_at..start]
            .iter()
            .skip(1)
            .any(|w| w == "i");
    if (clause.quoted && (markers.reported || here.after_reporting)) || reported_here {
        return if markers.fiction {
            Effect::Fiction
        } else {
            Effect::SomeoneElse
        };
    }
    if markers.fiction {
        // In fiction, news, study or work a cue is the writer's only when
        // they are its subject, close by: "I keep thinking about suicide".
        let close_i = clause[start.saturating_sub(5)..start]
            .iter()
            .any(|w| matches!(w.as_str(), "i" | "me" | "myself"))
            || clause[start..end]
                .iter()
                .any(|w| matches!(w.as_str(), "i" | "me" | "myself" | "my"));
        let topic = rule.flags & TOPIC != 0 || (here.fiction && rule.flags & SUBJ != 0);
        if subject != Subject::Writer || (topic && !close_i) {
            return Effect::Fiction;
        }
    }
    let everyday =
        rule.flags & ORD != 0 || matches!(rule.category, Category::Preparation | Category::Intent);
    if here.ordinary && everyday {
        return Effect::Ordinary;
    }
    // No subject written, and the cue is on someone else's body or things:
    // "fresh cuts on his arm" (not "a letter to my son, left it on his
    // desk": past a comma is the next thing done).
    // "I found blades in her pencil case": what the writer found is the
    // other person's, a little further on.
    let found = clause[..end].iter().any(|w| {
        matches!(
            w.as_str(),
            "found" | "find" | "discovered" | "noticed" | "spotted"
        )
    });
    let near = clause.commas.iter().copied().filter(|&c| c >= end).fold(
        (end + if found { 6 } else { 4 }).min(clause.len()),
        usize::min,
    );
    let theirs = rule.flags & SUBJ != 0
        && rule.category != Category::HarmToOthers
        && (found
            || !clause[..end]
                .iter()
                .any(|w| FIRST_PERSON.contains(&w.as_str())))
        && (end..near).any(|k| {
            // "collecting dad's oxy since his hip op": a time, not a place.
            matches!(clause[k].as_str(), "his" | "her" | "their")
                && !matches!(
                    clause[k - 1].as_str(),
                    "since" | "after" | "before" | "from"
                )
        });
    if theirs {
        return Effect::SomeoneElse;
    }
    match subject {
        Subject::SomeoneElse => return Effect::SomeoneElse,
        // "Can you overdose on ...?" asks for oneself.
        Subject::Nobody if rule.category != Category::Method => return Effect::Fiction,
        _ => {}
    }
    // The past, or recovery: "I used to cut", "before I wanted to die every
    // day, now with medicine I am better".
    // A relapse ends the recovery it names: "cut again last night after 8
    // months clean"; so does "still" just before the cue: "still want to
    // die, just got better at saying I don't".
    let relapse = markers.relapse
        || clause
            .iter()
            .any(|w| matches!(w.as_str(), "again" | "slipped" | "streak"))
        || clause[start.saturating_sub(2)..start]
            .iter()
            .any(|w| w == "still");
    // An urge told in the present is now, whatever recovery came before it:
    // "8 months clean and i want to cut so bad".
    let urge_now = rule.id == "urge_sh"
        && matches!(
            clause[start].as_str(),
            "want"
                | "need"
                | "urge"
                | "urges"
                | "craving"
                | "itching"
                | "tempted"
                | "wanting"
                | "needing"
        );
    if (here.recovery && !relapse && !urge_now)
        || (here.past && (!here.present || markers.recovery))
        || (markers.recovery && !here.present && !markers.relapse && !urge_now)
    {
        return Effect::Past;
    }
    Effect::Counts
}

/// "I get thoughts of swerving into a lorry and they terrify me, I'd
/// never": a thought the writer is frightened by and disowns (the
/// intrusive thoughts of OCD, or after a birth) is not their risk. Both
/// must be said; and fear of losing control ("scared I'll do it", "part of
/// me wants to") is risk, whatever else is said.
fn unwanted_thought(clauses: &[Clause]) -> bool {
    let has = says(clauses);
    let frightened = has(&[
        "terrifies me",
        "terrified",
        "terrifying",
        "scares me",
        "scared me",
        "it is scary",
        "horrifies me",
        "horrified",
        "horrify me",
        "horrible",
        "freaked out",
        "freaks me out",
        "freak me out",
        "freaking me out",
        "feel sick",
        "made me sick",
        "makes me sick",
        "shook me",
        "ashamed",
        "disgusted",
        "disturbing",
        "upsetting",
        "feel awful",
        "feel terrible",
        "hate that i have them",
        "hate having them",
        "weirded out",
        "makes me panic",
        "made me panic",
        "disgusting",
        "scared of it",
        "scared of them",
        "afraid of it",
        "i hate them",
        "hate these thoughts",
        "hate the thoughts",
        "sick to my stomach",
        "i hate it",
        "makes me so anxious",
        "makes me anxious",
    ]);
    let disowned = has(&[
        "do not want to",
        "do not want it",
        "would never",
        "never would",
        "love my life",
        "do not want to die",
        "intrusive",
        "ocd",
        "is that normal",
        "is this normal",
        "is it normal",
        "known thing",
        "is that a thing",
        "is this a thing",
        "does that make me",
        "does this make me",
        "bad person",
        "postpartum",
        "post partum",
        "not something i want",
        "not what i want",
        "call of the void",
        "least violent",
        "not a violent person",
    ]);
    let losing_control = has(&[
        "part of me",
        "how much i want",
        "tempted",
        "almost did",
        "scared i will",
        "afraid i will",
        "scared i might",
        "afraid i might",
        "do not trust myself",
        "want to do it",
        "getting stronger",
        "but i want",
        "but i do want",
    ]);
    frightened && disowned && !losing_control
}

/// Whether a negator governs the words from `start` on.
fn negated(clause: &Clause, start: usize) -> bool {
    // "mi nuh see no reason fi live", "I ain't got nothing to live for":
    // a negative before a cue that is itself negative agrees with it.
    if matches!(
        clause.get(start).map(String::as_str),
        Some("no" | "nothing" | "nobody" | "never" | "none" | "nothin")
    ) {
        return false;
    }
    let mut i = start;
    let mut steps = 0;
    while i > 0 && steps < 5 {
        // A comma ends the negation's reach ("it doesn't, I'm going to end
        // it"), but not "never, ever".
        if clause.commas.contains(&i) && clause[i] != "ever" {
            return false;
        }
        i -= 1;
        steps += 1;
        let w = clause[i].as_str();
        if NEGATORS.contains(&w) {
            let next = clause.get(i + 1).map(String::as_str).unwrap_or("");
            // "I don't know where he lives" negates the cue itself; "I
            // don't know why I keep waking up" does not.
            if next == "know" && i + 1 == start {
                return true;
            }
            // "can't stop thinking about", "can't help", "never felt so":
            // the negation is of something else.
            if matches!(
                next,
                "stop"
                    | "help"
                    | "resist"
                    | "fight"
                    | "ignore"
                    | "control"
                    | "shake"
                    | "wait"
                    | "only"
                    | "even"
                    | "one"
                    | "more"
                    | "longer"
                    | "reason"
                    | "point"
                    | "way"
                    | "matter"
                    | "sure"
                    | "able"
                    | "anymore"
                    | "ever"
                    | "know"
                    | "knowing"
                    | "understand"
            ) {
                return false;
            }
            if (w == "never" || w == "not")
                && clause[i + 1..start]
                    .iter()
                    .any(|x| x == "so" || x == "this" || x == "more")
            {
                return false;
            }
            return true;
        }
        if NEGATION_BLOCKERS.contains(&w) {
            if clause.comma_between(i.saturating_sub(2), i) {
                return false;
            }
            // "no way I would", "it's not like I want to", "not that I".
            let before: Vec<&str> = clause[i.saturating_sub(2)..i]
                .iter()
                .map(String::as_str)
                .collect();
            let negating = matches!(
                before.as_slice(),
                ["no", "way"]
                    | ["not", "like"]
                    | ["not", "that"]
                    | ["not", "saying"]
                    | ["not", "mean"]
                    | ["not", "because"]
                    | [_, "not"]
                    | [_, "never"]
            );
            return w == "i" && negating;
        }
    }
    false
}

/// Whether the past told at `at` reaches the cue at `start`: not across
/// a new present-tense sentence, "my dad died two years ago and I want to
/// die".
fn reaches(clause: &Clause, at: (usize, usize), start: usize) -> bool {
    at.1 > start
        || !clause[at.1..start]
            .windows(2)
            .any(|w| matches!(w[0].as_str(), "and" | "so" | "now" | "but") && w[1] == "i")
}

/// How many commas lie between two spans of a clause.
fn commas_apart(clause: &Clause, x: (usize, usize), y: (usize, usize)) -> usize {
    let (from, to) = if x.0 <= y.0 { (x.1, y.0) } else { (y.1, x.0) };
    clause
        .commas
        .iter()
        .filter(|&&c| c >= from && c <= to)
        .count()
}

/// Whether the everyday reason at `at` is what someone else believes or
/// was told, a cover: "she thinks I'm going travelling".
fn cover_story(clause: &Clause, at: usize) -> bool {
    clause[..at].iter().enumerate().any(|(k, w)| {
        matches!(
            w.as_str(),
            "thinks" | "believes" | "assumes" | "pretend" | "pretending" | "pretended"
        ) || (matches!(w.as_str(), "think" | "believe" | "assume")
            && k > 0
            && matches!(
                clause[k - 1].as_str(),
                "they" | "everyone" | "people" | "all"
            ))
            // "she thought I was going on holiday".
            || (w == "thought"
                && k > 0
                && matches!(clause[k - 1].as_str(), "she" | "he" | "they" | "everyone"))
    })
}

/// Whether the everyday reason at `at` says when, not why: "planned it for
/// after my daughter's wedding", "over spring break".
fn when(clause: &Clause, at: usize) -> bool {
    clause[at.saturating_sub(3)..at]
        .iter()
        .any(|w| matches!(w.as_str(), "after" | "over" | "during"))
}

/// Whether the everyday thing at `at` is given up: "cancelled the gym",
/// "quit my job".
fn given_up(clause: &Clause, at: usize) -> bool {
    let i = past_determiners(clause, at);
    i > 0
        && matches!(
            clause[i - 1].as_str(),
            "cancelled"
                | "canceled"
                | "cancel"
                | "cancelling"
                | "quit"
                | "quitting"
                | "skipped"
                | "dropped"
        )
}

/// Who the cue starting at `start` is about: the nearest subject before it.
fn subject(clause: &Clause, start: usize) -> Subject {
    let question = clause.first().is_some_and(|w| {
        matches!(
            w.as_str(),
            "do" | "did"
                | "does"
                | "have"
                | "has"
                | "are"
                | "is"
                | "would"
                | "could"
                | "can"
                | "should"
                | "will"
                | "were"
                | "was"
        )
    });
    for (k, w) in clause[..start].iter().enumerate().rev().take(8) {
        let w = w.as_str();
        if FIRST_PERSON.contains(&w) {
            return Subject::Writer;
        }
        if matches!(w, "you" | "your" | "yourself") {
            return if question {
                Subject::Nobody
            } else {
                Subject::Writer
            };
        }
        if matches!(
            w,
            "everyone" | "everybody" | "nobody" | "people" | "anyone" | "anybody" | "humans"
        ) && is_subject_position(clause, k)
        {
            return Subject::Nobody;
        }
        if matches!(w, "he" | "she" | "they") {
            // "when he gets home": a clause inside the sentence, not its
            // subject.
            let subordinate = k > 0
                && start - k > 3
                && matches!(
                    clause[k - 1].as_str(),
                    "when"
                        | "if"
                        | "because"
                        | "until"
                        | "before"
                        | "after"
                        | "while"
                        | "since"
                        | "once"
                        | "as"
                        | "unless"
                        | "whether"
                );
            if !subordinate {
                return Subject::SomeoneElse;
            }
            continue;
        }
        // "if someone took all their insulin at once": a question put
        // through nobody in particular, as a method question often is.
        if matches!(w, "someone" | "somebody" | "anyone" | "anybody" | "person")
            && clause[..k].iter().rev().take(2).any(|p| p == "if")
        {
            return Subject::Nobody;
        }
        // "my friend wants to", not "I called my dad to hear his voice".
        // "wrote a letter to my daughter, left it on her pillow": a noun
        // before a comma is not the subject of what follows it.
        if THIRD_PERSON.contains(&w)
            && is_subject_position(clause, k)
            && !clause.commas.contains(&(k + 1))
        {
            return Subject::SomeoneElse;
        }
        // "how to handle someone who is suicidal": a person spoken of,
        // not "I'm someone who".
        if w == "who"
            && k > 0
            && start - k <= 2
            && matches!(
                clause[k - 1].as_str(),
                "someone"
                    | "somebody"
                    | "anyone"
                    | "anybody"
                    | "people"
                    | "person"
                    | "those"
                    | "students"
                    | "clients"
                    | "patients"
            )
            && !clause[k.saturating_sub(4)..k - 1]
                .iter()
                .any(|w| FIRST_PERSON.contains(&w.as_str()))
        {
            return Subject::Nobody;
        }
        if matches!(w, "and" | "so" | "then") {
            break;
        }
    }
    // No subject written: "wants to die" is someone else's, "want to die"
    // the writer's; after a number or a determiner it is a noun ("3 cuts
    // on my hip").
    let noun = start > 0
        && (clause[start - 1].chars().all(|c| c.is_ascii_digit())
            || matches!(
                clause[start - 1].as_str(),
                "the"
                    | "my"
                    | "a"
                    | "some"
                    | "few"
                    | "new"
                    | "little"
                    | "small"
                    | "deep"
                    | "fresh"
                    | "more"
                    | "those"
                    | "these"
            ));
    match clause.get(start) {
        Some(verb) if !noun && THIRD_PERSON_VERBS.contains(&verb.as_str()) => Subject::SomeoneElse,
        _ => Subject::Writer,
    }
}

/// Whether an everyday explanation of `kind` is near the cue at `span` of
/// clause `ci`: in its clause at most one comma away (but not one of the
/// cue's own words: "looking at the gas hob"), or in the clause before or
/// after.
fn everyday_near(
    everyday: &[[Vec<(usize, usize)>; 3]],
    kind: usize,
    ci: usize,
    span: (usize, usize),
    clause: &Clause,
) -> bool {
    everyday[ci][kind]
        .iter()
        .any(|&s| !(s.0 >= span.0 && s.1 <= span.1) && commas_apart(clause, s, span) <= 1)
        || (ci > 0 && !everyday[ci - 1][kind].is_empty())
        || everyday.get(ci + 1).is_some_and(|e| !e[kind].is_empty())
}

/// Whether the words at `at` are asked about: "if I'm safe", "whether I
/// was okay".
fn asked_if(clause: &Clause, at: usize) -> bool {
    clause[at.saturating_sub(3)..at]
        .iter()
        .any(|w| matches!(w.as_str(), "if" | "whether"))
}

/// Whether the person named at `k` follows a preposition ("with my
/// neighbour", "for her") or a verb that gives them something ("wrote my
/// mum a letter"): an object, not a subject.
fn object_of_preposition(clause: &Clause, k: usize) -> bool {
    let i = past_determiners(clause, k);
    i > 0
        && matches!(
            clause[i - 1].as_str(),
            "with" | "to" | "for" | "at" | "from" | "by" | "of" | "near" | "beside" | "next"
                // "wrote my mum a letter and put it ...": given something.
                | "wrote" | "write" | "writing" | "left" | "leave" | "leaving" | "gave" | "give"
                | "giving" | "sent" | "send" | "sending" | "told" | "tell" | "telling" | "called"
                | "call" | "thanked" | "hugged" | "kissed"
        )
}

/// Whether a clause ends by reporting someone else's words: "my dad keeps
/// saying", "she texted me".
fn ends_in_reporting(clause: &Clause) -> bool {
    let reporting = clause.last().is_some_and(|w| {
        matches!(
            w.as_str(),
            "said"
                | "says"
                | "saying"
                | "texted"
                | "posted"
                | "wrote"
                | "told"
                | "tells"
                | "me"
                | "goes"
                | "went"
                | "like"
                | "asked"
                | "asks"
                | "messaged"
                | "tweeted"
        )
    });
    let someone = clause.iter().enumerate().any(|(k, w)| {
        matches!(w.as_str(), "he" | "she" | "they")
            || (THIRD_PERSON.contains(&w.as_str()) && is_subject_position(clause, k))
    });
    reporting && someone
}

/// Where the noun phrase of the noun at `k` starts: before its determiners
/// and adjectives ("my best friend", "our little brother").
fn past_determiners(clause: &Clause, k: usize) -> usize {
    let mut i = k;
    while i > 0
        && matches!(
            clause[i - 1].as_str(),
            "my" | "our"
                | "best"
                | "little"
                | "older"
                | "younger"
                | "big"
                | "the"
                | "a"
                | "his"
                | "her"
                | "their"
                | "your"
                | "one"
                | "of"
                | "close"
                | "old"
                | "new"
                | "online"
                | "discord"
                | "twin"
                | "step"
                | "baby"
                | "teenage"
                | "adult"
        )
    {
        i -= 1;
    }
    i
}

/// Whether the noun at `k` stands where a subject does: at the start of
/// the clause or after a conjunction or a verb of worry, past its
/// determiners ("my best friend", "our little brother").
fn is_subject_position(clause: &Clause, k: usize) -> bool {
    let i = past_determiners(clause, k);
    i == 0
        || matches!(
            clause[i - 1].as_str(),
            "and"
                | "but"
                | "so"
                | "because"
                | "that"
                | "when"
                | "if"
                | "think"
                | "worried"
                | "scared"
                | "afraid"
                | "know"
                | "feel"
                | "honestly"
                | "now"
                | "today"
                | "yesterday"
                | "lately"
                | "recently"
                | "apparently"
                | "tonight"
                | "suddenly"
                | "also"
                | "cause"
                | "since"
                | "then"
                | "while"
        )
}

#[cfg(test)]
mod tests;
