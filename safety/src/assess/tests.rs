//! One test per category the classifier must catch and per case it must
//! not escalate, in several voices each; and the conversation cases.

use super::*;

fn level(m: &str) -> RiskLevel {
    assess(m).level
}

/// Every message is classified below `ceiling`.
#[track_caller]
fn all_below(ceiling: RiskLevel, messages: &[&str]) {
    for m in messages {
        let a = assess(m);
        assert!(a.level < ceiling, "{m:?}: {}", a.explanation());
    }
}

#[track_caller]
fn all_at(level_wanted: RiskLevel, messages: &[&str]) {
    levels_by(assess, level_wanted, messages);
}

/// Every message is classified `level_wanted` by `classify`.
#[track_caller]
fn levels_by(classify: fn(&str) -> Assessment, level_wanted: RiskLevel, messages: &[&str]) {
    for m in messages {
        let a = classify(m);
        assert_eq!(a.level, level_wanted, "{m:?}: {}", a.explanation());
    }
}

#[test]
fn suicidal_thoughts_passive_and_active_are_high() {
    all_at(
        RiskLevel::High,
        &[
            "I want to kill myself",
            "i just dont want to wake up tomorrow",
            "honestly everyone would be better off without me",
            "i wish i could just disappear for good",
            "I'm done. with everything. with life.",
            "I want the pain to stop for good",
            "i feel ready to go",
            "kms fr",
            "thinking about unaliving myself again",
            "no reason to keep living tbh",
            "I am tired of being alive",
        ],
    );
}

#[test]
fn a_method_or_the_means_is_high() {
    all_at(
        RiskLevel::High,
        &[
            "how many sleeping pills would it take",
            "how much is too much of my blood pressure tablets. need a number",
            "i've been saving up my pills 💊",
            "I tied a rope in the garage",
            "i keep thinking about jumping off the bridge on my way home",
            "stepping in front of a train seems easy",
            "I could just drive my car into a wall",
            "my dad's gun is in the closet and I know the code",
            "walk into the sea and not come back",
        ],
    );
}

#[test]
fn intent_and_timing_are_high() {
    all_at(
        RiskLevel::High,
        &[
            "i'm going to do it tonight after the kids are asleep",
            "this is the last time you'll hear from me",
            "goodbye everyone, I love you all",
            "I've made up my mind. I'm doing it this weekend",
        ],
    );
}

#[test]
fn preparation_is_high() {
    all_at(
        RiskLevel::High,
        &[
            "i gave away my guitar and all my games, i won't need them anymore",
            "I wrote letters to everyone in my family",
            "been researching painless ways to die",
            "who will take care of my cat when i'm gone",
            "I've been saying my goodbyes this week",
        ],
    );
}

#[test]
fn self_harm_acts_and_urges_are_high() {
    all_at(
        RiskLevel::High,
        &[
            "i cut myself again last night",
            "burned my arm with a lighter on purpose",
            "I scratch my skin until it bleeds",
            "the urge to cut is so strong rn",
            "i keep pulling out my hair until there are bald spots",
            "i haven't eaten in days on purpose, i don't deserve food",
            "hit myself in the head again today",
        ],
    );
}

#[test]
fn harm_to_others_as_a_plan_is_high() {
    all_at(
        RiskLevel::High,
        &[
            "I'm going to bring my dad's gun to school tomorrow",
            "i'm going to stab him when he gets home, the knife is in my bag",
            "I keep thinking about hurting my baby",
        ],
    );
}

#[test]
fn shorthand_misspellings_and_emoji_are_understood() {
    all_at(
        RiskLevel::High,
        &[
            "kms",
            "i wanna unalive myself",
            "im gonna ctb tonight",
            "i want to comit sucide",
            "i wanna kil myslef",
            "thinking abt sewerslide again",
            "💊💊💊 tonight",
        ],
    );
}

#[test]
fn negation_does_not_escalate() {
    all_below(
        RiskLevel::High,
        &[
            "I have never had thoughts of killing myself",
            "I'm not going to hurt myself, I promise",
            "i would never kill myself",
            "I don't want to die, I want things to get better",
            "It's not like I want to die or anything, I'm just burnt out",
        ],
    );
}

#[test]
fn recovery_and_the_past_are_not_escalated() {
    all_below(
        RiskLevel::High,
        &[
            "I used to cut but I've been clean for two years",
            "I tried to kill myself in college. Therapy helped and I'm doing much better now",
            "haven't self harmed in 3 years and i'm proud of myself",
        ],
    );
}

#[test]
fn a_relapse_after_recovery_is_high() {
    all_at(
        RiskLevel::High,
        &["I was clean for two years but I cut again tonight"],
    );
}

#[test]
fn hyperbole_with_laughter_or_a_trivial_cause_is_not_escalated() {
    all_at(
        RiskLevel::None,
        &[
            "I'll kill him if he's late again lol",
            "kms this wifi is so slow lmao",
            "if i have to sit through one more meeting i'll die",
            "my mom is going to kill me when she sees my grades",
        ],
    );
}

#[test]
fn idioms_are_not_escalated() {
    all_at(
        RiskLevel::None,
        &[
            "dead tired after my shift",
            "I'm dying to see the new movie",
            "my phone died again",
            "you're killing it!",
            "my boss is killing me with these deadlines",
            "this pizza is to die for",
            "I overdosed on coffee this morning",
            "let's hang out this weekend",
        ],
    );
}

#[test]
fn fiction_news_and_study_are_not_escalated() {
    all_below(
        RiskLevel::Medium,
        &[
            "the film where the hero dies at the end made me cry",
            "I'm writing my essay on suicide prevention",
            "in the novel she jumps off the bridge in chapter 12",
            "our nursing lecture covered overdose response today",
        ],
    );
}

#[test]
fn someone_elses_risk_is_medium_and_says_so() {
    for m in [
        "my friend says she wants to die",
        "my son is cutting himself",
        "my roommate told me he has pills saved up",
    ] {
        let a = assess(m);
        assert_eq!(a.level, RiskLevel::Medium, "{m}: {}", a.explanation());
        assert!(a.about_someone_else, "{m}");
    }
}

#[test]
fn every_decision_lists_its_cues_and_never_the_text() {
    let a = assess("I want to kill myself tonight");
    let why = a.explanation();
    assert!(why.contains("ideation:kill_myself"), "{why}");
    assert!(why.contains("timing"), "{why}");
    assert!(!why.contains("want to"), "{why}");
    let b = assess("I'm not going to hurt myself");
    assert!(b.explanation().contains("negated:self_harm:hurt_myself"));
}

#[test]
fn risk_that_builds_over_messages_is_high() {
    let earlier = ["I can't do this anymore"];
    assert_eq!(level("I'm so tired of everything"), RiskLevel::Medium);
    let a = assess_in_context("I'm so tired of everything", &earlier);
    assert_eq!(a.level, RiskLevel::High, "{}", a.explanation());
    assert!(a.explanation().contains("context:"));
    let b = assess_in_context("tonight", &["I have the pills ready"]);
    assert_eq!(b.level, RiskLevel::High);
}

#[test]
fn earlier_messages_do_not_raise_a_message_with_no_cue() {
    let a = assess_in_context("thanks, I'll call them now", &["I want to die"]);
    assert!(a.level < RiskLevel::Medium);
    let b = assess_in_context("what's a good book to read?", &["I can't do this anymore"]);
    assert_eq!(b.level, RiskLevel::None);
}

#[test]
fn a_negation_or_an_everyday_reason_does_not_reach_across_a_run_on_message() {
    all_at(
        RiskLevel::High,
        &[
            // The negation is of "it'll pass", not of the plan after the comma.
            "people keep telling me it'll pass, it won't, i'm going to end it tonight",
            // "I don't know" is uncertainty, not a negation of what follows.
            "idk why i even bother waking up, i want to die",
            // A reason denied, or one someone else was told, is no reason.
            "i want to disappear forever and not in a holiday way",
            "she thinks i'm moving abroad. i gave her the dog and i'm going to end it",
            // An everyday reason two phrases away does not explain a cue.
            "work was fine, the car needs an MOT, my sister rang, and i've been writing my goodbye letters",
        ],
    );
}

#[test]
fn swapped_letters_fillers_and_method_questions_are_read() {
    all_at(
        RiskLevel::High,
        &[
            "i wnat to die",
            "i want to just kill myself",
            "does an overdose hurt or is it quick",
            "what's the tallest car park near me",
            "i keep picturing the noose",
            "honestly i just want to unalive",
        ],
    );
}

#[test]
fn everyday_look_alikes_of_methods_and_goodbyes_are_not_escalated() {
    all_below(
        RiskLevel::High,
        &[
            "how long does it take to get to the airport from here",
            "how long does it take for ibuprofen to kick in for period pain",
            "the loneliness is hitting hard this evening",
            "we're visiting my nan in the hospice to say goodbye, the nurses say days to live",
            "we did cpr and what to do with an overdose on the first aid day",
            "need a strong rope for the tyre swing in the garden",
        ],
    );
}

/// Everyday means explain a method, never a goodbye; a person named as
/// the object of a verb is not the one writing; a relapse ends the
/// recovery it names; a question about safety is no recovery.
#[test]
fn disclosures_inside_everyday_details_are_high() {
    all_at(
        RiskLevel::High,
        &[
            "I left letters for everyone on the kitchen table",
            "left the dog with my neighbour and wrote a note for my sister",
            "i wrote my mum a letter and put it on the kitchen table for when she finds me",
            "been reading online about how many of my pills it would take",
            "cut again last night after 8 months clean. deeper than before",
            "My therapist asked if I'm safe and I lied to her. I have a plan and a date.",
            "I told my mom I love her today. She doesn't know it was goodbye.",
            "my cat is the only reason im still here",
            "I just want everything to go dark and stay dark",
            "i will try again properly this time",
            "wrote my will yesterday. im 19. my friends thought it was a joke and i let them",
        ],
    );
}

#[test]
fn look_alikes_of_those_details_are_not_escalated() {
    all_below(
        RiskLevel::High,
        &[
            "lol this song is so good i could die",
            "It's been a year since I last self-harmed. Today was hard but I called a friend and we went for a walk instead",
            "wrote letters to all my pen pals today, it's such a nice slow hobby",
            "the new knife block is in the kitchen next to the cooker",
            "My dad's been giving away his tools and saying stuff like you won't have to worry about me much longer",
        ],
    );
}

/// The rules alone (no model to cover for them): the level they reach.
#[track_caller]
fn rules_at(level_wanted: RiskLevel, messages: &[&str]) {
    levels_by(assess_rules, level_wanted, messages);
}

#[test]
fn a_story_told_and_then_denied_explains_nothing() {
    rules_at(
        RiskLevel::High,
        &[
            "Gave all my tools to the apprentice today, told him I'm retiring. I'm not retiring.",
            "My sister's taking the cat next week \"while I'm travelling\". I'm not travelling.",
            "Bank's taking the restaurant Monday. I've told my wife I'm seeing the accountant in the morning. I won't be.",
            "cancelled therapy, cancelled the gym, cancelled everything after the 14th. no point keeping any of it",
        ],
    );
    rules_at(
        RiskLevel::None,
        &["My sister's taking the cat next week while I'm travelling."],
    );
}

#[test]
fn the_past_does_not_reach_a_new_sentence_in_the_present() {
    rules_at(
        RiskLevel::High,
        &[
            "My dad died two years ago and I want to die",
            "We split up a year ago. I want to kill myself",
            "me and Claire split 2 years ago. I've sorted the paperwork so they get what's left and I'm going up to the cliffs on Saturday.",
            "been in the crisis unit twice this year. still want to die, just got better at saying i dont",
        ],
    );
    rules_at(
        RiskLevel::Low,
        &[
            "I tried to kill myself two years ago. I'm doing much better now.",
            "When I was 15 I wanted to die",
        ],
    );
    all_below(
        RiskLevel::High,
        &[
            "A year ago today I was in hospital after an overdose. Today I went for a run and cooked dinner for my kids.",
        ],
    );
}

#[test]
fn a_familys_news_explains_a_will_and_never_a_method() {
    rules_at(
        RiskLevel::High,
        &[
            "4am again, baby won't settle. I had the thought of walking out into the road and I didn't hate it.",
        ],
    );
    all_below(
        RiskLevel::High,
        &["We made a will after the baby was born, everyone should do it"],
    );
}

#[test]
fn recovery_believed_by_someone_else_or_the_calm_of_a_decision_is_no_recovery() {
    rules_at(
        RiskLevel::High,
        &[
            "My therapist thinks I'm doing better. I'm only doing better because I've decided.",
            "my therapist thinks I'm doing better. I'm doing better because I've made up my mind.",
        ],
    );
    all_below(
        RiskLevel::Medium,
        &["I'm doing much better now, therapy helped"],
    );
}

#[test]
fn hopelessness_alone_stays_medium() {
    rules_at(
        RiskLevel::Medium,
        &[
            "I can't do this anymore. I'm so tired of everything",
            "I give up. on everything. there's no point trying anymore",
        ],
    );
    rules_at(
        RiskLevel::High,
        &["I can't do this anymore and I'm a burden to everyone"],
    );
}

#[test]
fn digits_for_letters_and_other_languages_are_read() {
    rules_at(
        RiskLevel::High,
        &[
            "su1c1d4l again. thought it would pass. it hasnt",
            "i want to k1ll mys3lf",
            "bhai sach bolu toh ab jeene ka mann nahi karta",
            "gusto ko na mamatay",
            "ya no puedo, me quiero morir",
            "In my country we do not speak about this. But I am thinking every day how to kill me self.",
            "Properly had enough. Reckon I'll just top myself and have done with it.",
        ],
    );
    all_below(
        RiskLevel::Medium,
        &["need to top myself up with coffee before the mp3 test"],
    );
}

#[test]
fn the_writer_acting_for_someone_else_is_still_the_writer() {
    rules_at(
        RiskLevel::High,
        &[
            "if someone dies by suicide does the life insurance still pay? policy is three years old. I need to know it'll pay out for them",
            "I relapsed. 3 cuts on my hip. I had 200 days clean and now it's back to zero",
            "my son found my razor blades. he's 9. I told him they were for shaving but they're for my legs, the cuts on my legs",
        ],
    );
}

#[test]
fn laughter_takes_back_hyperbole_but_not_an_act() {
    rules_at(
        RiskLevel::High,
        &["burned myself with a lighter again lol 🙃"],
    );
    all_below(
        RiskLevel::High,
        &[
            "bro that boss fight made me want to uninstall and kms 😂 third try tho we got it",
            "If my boss schedules one more 8am meeting I'm going to throw myself off the balcony lmao jk",
            "essay due at midnight and I'm about to end it all lol jk. 3000 words and I've done 200",
        ],
    );
}

#[test]
fn laughter_alone_does_not_take_back_ending_it() {
    rules_at(
        RiskLevel::High,
        &[
            "maybe I should just end it all lol",
            "lol im gonna unalive myself if this keeps up. not actually joking though",
        ],
    );
}

#[test]
fn thanks_after_a_disclosure_stays_calm() {
    let earlier = ["i want to kms tonight"];
    for m in [
        "thank you, I called them",
        "ok thanks",
        "I called the number you gave me",
    ] {
        let a = assess_in_context(m, &earlier);
        assert!(a.level < RiskLevel::High, "{m:?}: {}", a.explanation());
    }
}

#[test]
fn said_briefly_or_asked_about_someone_it_is_still_the_writer() {
    rules_at(
        RiskLevel::High,
        &[
            "Can't live like this. Won't.",
            "What would happen if someone took like 30 sertraline at once",
            "I used to self-harm and I'm right back there. Did it this morning before work.",
            "no point telling anyone. by the weekend it won't matter.",
        ],
    );
    // Someone else's words, but "to me": the writer's arrangement.
    let neighbour = "my neighbour said she'd take the cat if anything ever happened to me so i asked her today to make it official. she thought i was going on holiday lol";
    rules_at(RiskLevel::Medium, &[neighbour]);
}

#[test]
fn a_thought_the_writer_fears_and_disowns_is_not_their_risk() {
    all_below(
        RiskLevel::Medium,
        &[
            "every time I'm on a bridge I get this flash of jumping and it terrifies me. I don't want to, is that normal?",
            "keep picturing myself driving into a wall and it scares me, I love my life. intrusive thoughts?",
            "had a thought about hurting the baby and it made me feel sick. I'd never. is this a postpartum thing",
        ],
    );
    // Fear of losing control is risk, whatever else is said.
    all_at(
        RiskLevel::High,
        &[
            "I get thoughts of jumping off the balcony and it terrifies me because part of me wants to",
            "the thoughts about overdosing scare me, I don't want to die but I'm scared I will do it",
        ],
    );
}

#[test]
fn a_joke_taken_back_is_no_joke() {
    all_at(
        RiskLevel::High,
        &[
            "gonna unalive myself after my exams lol jk. unless",
            "might just kms haha jk. mostly",
        ],
    );
    all_below(
        RiskLevel::High,
        &["gonna kms if this meeting runs over lol jk"],
    );
}

#[test]
fn no_intent_does_not_take_back_passive_thoughts() {
    all_at(
        RiskLevel::High,
        &["honestly wouldn't mind if I didn't wake up. not gonna do anything about it"],
    );
}

#[test]
fn past_a_comma_is_the_writers_next_act() {
    all_at(
        RiskLevel::High,
        &["wrote a letter to my son, left it on his desk for the morning"],
    );
    assert_eq!(level("found fresh cuts on his arm"), RiskLevel::Medium);
}

#[test]
fn an_idiom_inside_a_cue_takes_it_back() {
    all_below(
        RiskLevel::Medium,
        &[
            "i need to cut back on sugar, any tips?",
            "trying to cut down on my screen time",
        ],
    );
    // A cue after a negated struggle still counts: "can't fight the urge".
    all_at(
        RiskLevel::High,
        &[
            "cant fight the urge to cut tonight",
            "can't control the urge to hurt myself",
        ],
    );
    assert_eq!(
        level("I'm at the end of my rope with everything"),
        RiskLevel::Medium
    );
}

#[test]
fn said_plainly_and_practically_it_is_high() {
    all_at(
        RiskLevel::High,
        &[
            "no. i'm not safe",
            "which multi storey round here has no railings on the top. don't ask why",
            "going to punch the wall until my hand breaks",
            "kept the old tablets in the drawer, just in case i decide",
            "they say it gets better. i'm not sticking around to find out",
        ],
    );
}

#[test]
fn a_bare_denial_at_the_end_takes_back_the_story() {
    assert_eq!(
        level("been giving my books away. told my sister i'm decluttering. i'm not."),
        RiskLevel::High
    );
    assert!(level("giving my books away, I'm decluttering before the move") < RiskLevel::High);
}

#[test]
fn an_urge_now_outlasts_the_recovery_before_it() {
    all_at(
        RiskLevel::High,
        &["6 months clean and i want to cut so bad tonight"],
    );
    all_below(
        RiskLevel::High,
        &["i used to want to cut all the time, 2 years clean now"],
    );
}

#[test]
fn what_was_taken_and_where_is_said_plainly() {
    all_at(
        RiskLevel::High,
        &[
            "took like 15 of my dads pills 20 mins ago",
            "just injected all my insulin",
            "saving them up to take all at once 😂",
            "popped all my tablets out of the blister packs into a jar",
            "I have decided to drink the sniper tonight",
            "i've already picked the spot",
            "can't see myself here by christmas",
            "i am standing on the terrace of the hostel now",
        ],
    );
    all_below(
        RiskLevel::Medium,
        &[
            "my phone is about to die, text you later",
            "took 2 paracetamol for my headache",
        ],
    );
}

#[test]
fn the_englishes_of_the_caribbean_and_west_africa_are_read() {
    all_at(
        RiskLevel::High,
        &[
            "mi cyaan tek it nuh more, mi jus waan dead",
            "mi nuh see no reason fi live",
            "if e no work i go end am",
            "i don buy sniper, e dey for my room",
            "cut up me arm again last night",
            "pullin up on him tonight with the strap",
        ],
    );
    all_below(
        RiskLevel::Medium,
        &[
            "wah gwan, mi deh yah a work, tired but good",
            "me mum says hi, she's dead tired from the trip lol",
        ],
    );
}

#[test]
fn laughter_with_nothing_else_said_is_no_joke() {
    all_at(
        RiskLevel::High,
        &["i wanna die lol", "honestly might just kms lmaooo"],
    );
    all_below(
        RiskLevel::High,
        &[
            "kms this wifi is so slow lmao",
            "my dad's jokes are so bad i want to die 😂 anyway pancakes",
        ],
    );
}

#[test]
fn reaching_help_with_nothing_else_said_stays_calm() {
    all_below(
        RiskLevel::High,
        &[
            "thank you, I called them",
            "thank you. I called them tonight",
        ],
    );
    all_at(RiskLevel::High, &["I called them. I'm doing it anyway"]);
}

#[test]
fn a_sentence_that_dates_the_one_before_puts_it_in_the_past() {
    all_below(
        RiskLevel::High,
        &[
            "i wanted to die when my son passed. that was 10 years ago. now i volunteer at the bereavement group",
        ],
    );
    all_at(
        RiskLevel::High,
        &["i wanted to die when my son passed. i still do, every day"],
    );
}

#[test]
fn saying_it_is_not_meant_that_way_or_an_errand_keeps_the_model_out() {
    all_below(
        RiskLevel::High,
        &[
            "sometimes i wish i could just disappear for a bit, like a cabin in the woods with no phone. not in a bad way",
            "nobody cares about me. i could vanish and, no i dont mean like that. i just feel invisible",
            "going away for 2 weeks. notes for the pet sitter: feed rex at 7am and 6pm, spare key under the blue pot, vet number on the fridge",
        ],
    );
    // A cover story is no errand.
    all_at(
        RiskLevel::High,
        &[
            "I've sorted the cat. my sister's having her from saturday, she thinks I'm going away for work",
        ],
    );
}

#[test]
fn a_time_after_someone_else_does_not_make_the_means_theirs() {
    all_at(
        RiskLevel::High,
        &["been collecting dads oxy since his hip op. 60 tabs now in a sock in my wardrobe"],
    );
    all_below(
        RiskLevel::High,
        &[
            "my daughter (14) has been cutting her arms, i found the blades in her pencil case. what do i do",
        ],
    );
}

#[test]
fn disgust_and_not_wanting_it_disown_an_intrusive_thought() {
    all_below(
        RiskLevel::High,
        &[
            "i get sudden images of stabbing my husband when im chopping veg. i love him so much and i feel disgusting. id never, i put the knife down straight away",
            "i get the urge to jump when im somewhere high like a balcony, the call of the void thing? im genuinely scared of it, its not something i want",
        ],
    );
}

#[test]
fn every_rule_has_its_own_name() {
    // Names are looked up (`rule_has`, the denials) and stored with
    // escalations: two rules of one name would be read as one.
    let mut seen = std::collections::HashSet::new();
    for rule in RULES {
        assert!(seen.insert(rule.id), "two rules are named {:?}", rule.id);
    }
}

#[test]
fn disclosures_in_a_few_words_are_high_and_their_everyday_twins_are_not() {
    all_at(
        RiskLevel::High,
        &[
            "i took something",
            "i took too much paracetamol",
            "i did something stupid",
            "i see only one way out",
            "they won't have to deal with me much longer",
            "please don't be sad when i'm gone",
        ],
    );
    all_below(
        RiskLevel::High,
        &[
            "i took too many photos today lol",
            "i did something stupid at work lol, sent the email to everyone",
            "the escape room had only one way out lol",
            "dont be sad when im gone on holiday, its only a week",
        ],
    );
}

#[test]
fn a_question_through_someone_found_means_and_a_believed_story() {
    // "If someone took…" asks for the writer as often as not: a method
    // question through nobody in particular.
    all_at(
        RiskLevel::High,
        &[
            "hey so random question but if someone took all their insulin at once would it be painful",
            "i've been giving my stuff away to friends. told them i'm decluttering. they believe me",
        ],
    );
    // What the writer found on or among someone else's things is theirs.
    all_below(
        RiskLevel::High,
        &[
            "my daughter is 15 and i found razor blades wrapped in tissue in her pencil case. i dont know what to say to her",
        ],
    );
}

#[test]
fn keepsakes_a_denied_trip_an_i_inside_the_cue_and_a_nights_dream() {
    all_at(
        RiskLevel::High,
        // A keepsake handed on with a secret goodbye, a cover, a bequest.
        &[
            "gave my little brother my chain today. he doesnt know its goodbye",
            "gave my xbox and my dog to my best mate. said im moving. im not moving",
            "asked my aunt to take my cat for a while, told her i have a work trip. there is no trip",
            "made a will last night. im 20. i want my sister to have all my stuff",
            // "I" inside the cue is its subject, whoever owns the means.
            "my uncle keeps a rifle in the garage and i keep thinking about it",
            // A plan with no object but the act, and when.
            "been planning how to do it during half term when my parents are at work",
            "kill urges are so bad tonight",
            "searched up painless ways last night and couldnt stop reading",
            "honestly if i went to sleep and just never woke up that would be kind of nice",
            "i told her i would end it if she left and i meant it",
        ],
    );
    all_below(
        RiskLevel::High,
        &[
            "had a really weird dream about dying last night, still thinking about it. im fine just spooked",
            "I want to know how to make will here because I buy house and have two children, in my country the law is different",
            "gave my old guitar to my nephew, he just started lessons",
            "i get intrusive thoughts about hurting people when i see scissors, it makes me so anxious and i hate it, i would never",
        ],
    );
}

#[test]
fn slang_for_the_wish_and_the_everyday_twins_of_a_disclosure() {
    all_at(
        RiskLevel::High,
        &[
            "wanna unalive so bad rn",
            "unalive arc starting fr 💀 jk... unless",
            "honestly id be so relieved if i got run over on the way home lol",
            "I'd be grateful if I just didn't wake up tomorrow",
            "my uncle has a shotgun in the shed and i keep thinking bout it",
            "goodnight world, for good this time",
        ],
    );
    all_below(
        RiskLevel::High,
        &[
            "finna sleep, dead tired. goodnight yall",
            "did a first aid course today, we practised what to do for overdoses and deep cuts",
            "what age can you make a will in nigeria? its for my law assignment",
            "can i schedule a whatsapp message for midnight? want to send birthday wishes",
            "is the nearest pharmacy open on sunday? need my dad's bp meds",
            "i keep getting intrusive thoughts of swerving into a truck and they freak me out, i would never, i just want them gone",
            "this exam is so hard i want to die so bad lol",
        ],
    );
    // A keepsake handed on is not enough alone: the reply's tone stays.
    all_below(
        RiskLevel::Medium,
        &[
            "gave my sister my old hoodie since it doesnt fit me anymore",
            "im going to die so bad in this heat lol",
        ],
    );
}

#[test]
fn hopelessness_in_everyday_words_and_someone_elses_signs_are_medium() {
    all_at(
        RiskLevel::Medium,
        &[
            "i just cant anymore",
            "honestly i dont see a future for me",
            "nothing is ever going to get better, i know that now",
            "i feel so hopeless lately",
            "my dad keeps saying he wishes he was dead since the stroke",
            "found cuts on her wrists when she was asleep, my girlfriend i mean. what do i do",
            "my cousin has been talking about ending it and he has his dads pills",
        ],
    );
    // Hopeless about one thing is low: a visa, an exam, a landlord.
    all_below(
        RiskLevel::Medium,
        &[
            "i feel hopeless about this visa thing, another rejection letter",
            "my brother is cutting his own hair rn pray for him",
        ],
    );
}
