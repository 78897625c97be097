//! Triage: how urgently a texter needs a person, from the words they used, whether this
//! is their first contact, and how many texts they have sent without an answer.
//!
//! Indicators are the localised phrases in `messages/*.toml` under `[risk]`; matching folds
//! case and accents the same way keyword matching does.

use crate::catalog::{Catalog, Language, RiskCategory, contains_phrase, fold_for_matching};

/// Queue order: urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Normal,
    High,
    Urgent,
}

/// Score at or above which a texter is urgent.
const URGENT_SCORE: u32 = 10;
/// Score at or above which a texter is high priority.
const HIGH_SCORE: u32 = 4;
/// Unanswered texts count up to this many points.
const MAX_UNANSWERED_POINTS: u32 = 3;

/// What triage found, without quoting the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub priority: Priority,
    pub score: u32,
    pub indicators: Vec<RiskCategory>,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// Larger is more urgent; stored so the queue can sort on it.
    pub fn rank(self) -> i64 {
        match self {
            Priority::Normal => 1,
            Priority::High => 2,
            Priority::Urgent => 3,
        }
    }

    pub fn from_stored(text: &str) -> Self {
        match text {
            "urgent" => Priority::Urgent,
            "high" => Priority::High,
            _ => Priority::Normal,
        }
    }
}

/// Scores a text. Phrases of every language are checked, the texter's first: people in
/// trouble mix languages, and a missed indicator costs more than an extra point.
pub fn assess(
    catalog: &Catalog,
    language: Language,
    text: &str,
    first_contact: bool,
    unanswered_before: u32,
) -> Assessment {
    let folded = fold_for_matching(text);
    let mut indicators = Vec::new();
    let mut languages = vec![language];
    languages.extend(
        catalog
            .languages()
            .into_iter()
            .filter(|other| *other != language),
    );
    for language in languages {
        let Ok(phrases) = catalog.risk_phrases(language) else {
            continue;
        };
        for (category, phrase) in phrases.iter() {
            if !indicators.contains(&category) && contains_phrase(&folded, phrase) {
                indicators.push(category);
            }
        }
    }

    let mut score: u32 = indicators.iter().map(|category| weight(*category)).sum();
    if first_contact {
        score += 1;
    }
    score += unanswered_before.min(MAX_UNANSWERED_POINTS);
    let priority = match score {
        s if s >= URGENT_SCORE => Priority::Urgent,
        s if s >= HIGH_SCORE => Priority::High,
        _ => Priority::Normal,
    };
    Assessment {
        priority,
        score,
        indicators,
    }
}

fn weight(category: RiskCategory) -> u32 {
    match category {
        RiskCategory::ImmediateDanger => 10,
        RiskCategory::Violence | RiskCategory::Minor | RiskCategory::LockedIn => 5,
        RiskCategory::BeingMoved => 4,
        RiskCategory::DocumentsTaken => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::load_embedded().unwrap()
    }

    fn first_phrase(category: RiskCategory, language: Language) -> String {
        catalog().risk_phrases(language).unwrap().get(category)[0].clone()
    }

    #[test]
    fn immediate_danger_is_urgent_in_every_language() {
        for language in [Language::En, Language::Fr, Language::Es] {
            let text = format!(
                "please {}",
                first_phrase(RiskCategory::ImmediateDanger, language)
            );

            let assessment = assess(&catalog(), language, &text, false, 0);

            assert_eq!(assessment.priority, Priority::Urgent, "{language:?}");
        }
    }

    #[test]
    fn a_minor_with_documents_taken_is_high() {
        let text = format!(
            "{} and {}",
            first_phrase(RiskCategory::Minor, Language::En),
            first_phrase(RiskCategory::DocumentsTaken, Language::En)
        );

        let assessment = assess(&catalog(), Language::En, &text, false, 0);

        assert_eq!(assessment.priority, Priority::High);
        assert_eq!(assessment.indicators.len(), 2);
    }

    #[test]
    fn a_plain_greeting_is_normal_and_repeated_silence_raises_it() {
        let plain = assess(&catalog(), Language::En, "hello is anyone there", true, 0);
        let repeated = assess(&catalog(), Language::En, "hello is anyone there", false, 3);

        assert_eq!(plain.priority, Priority::Normal);
        assert!(repeated.score > plain.score);
    }

    #[test]
    fn indicators_in_another_language_still_count() {
        let text = first_phrase(RiskCategory::ImmediateDanger, Language::Es);

        assert_eq!(
            assess(&catalog(), Language::En, &text, false, 0).priority,
            Priority::Urgent
        );
    }
}
