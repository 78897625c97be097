//! `textline messages check`: everything that can be wrong with a catalog, found at once,
//! and what each reply costs to send.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use super::matching::{contains_phrase, fold_for_matching};
use super::template::{self, TemplateError};
use super::{Catalog, Form, KeywordKind, Language, LanguageEntry, ReplyKey, RiskCategory};
use crate::sms::{SegmentCount, count_segments};

/// One thing wrong with the catalog, located by file and dotted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogProblem {
    /// `messages/fr.toml`, or the path of a deployment's own file.
    pub file: String,
    /// The dotted TOML key, e.g. `replies.help.discreet` or `keywords.stop`.
    pub key: String,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// A reply, form, keyword list or risk category every language must have is absent.
    Missing,
    /// An entry the catalog does not use, most likely a misspelt name.
    Unknown,
    /// A text, list or word that is empty.
    Empty,
    Template(TemplateError),
    /// The placeholders differ from those of the same reply elsewhere (`reference`).
    PlaceholderMismatch {
        expected: Vec<String>,
        found: Vec<String>,
        reference: String,
    },
    /// A discreet form contains a word from `[discreet] forbidden`.
    ForbiddenWord {
        word: String,
    },
    /// A discreet form contains something that looks like a link.
    Link,
    /// The same word is a keyword of two different kinds; `other` says where.
    KeywordConflict {
        word: String,
        other: String,
    },
    /// A risk phrase with upper-case letters.
    NotLowercase {
        phrase: String,
    },
}

/// The encoding and segment count of one reply as written, placeholders unfilled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyReport {
    pub file: String,
    pub language: Language,
    pub key: ReplyKey,
    pub form: Form,
    pub count: SegmentCount,
}

/// Every problem in the catalog; an empty list means it is fit to serve.
pub fn check(catalog: &Catalog) -> Vec<CatalogProblem> {
    let mut problems = Problems::default();
    let reference = reference_placeholders(catalog);

    for entry in &catalog.entries {
        check_replies(entry, &reference, &mut problems);
        check_discreet_forms(entry, &mut problems);
        check_keywords(entry, &mut problems);
        check_risk_phrases(entry, &mut problems);
    }
    check_keyword_conflicts(catalog, &mut problems);

    problems.found
}

/// What each reply costs, in the catalog's order.
pub fn segment_report(catalog: &Catalog) -> Vec<ReplyReport> {
    let mut reports = Vec::new();
    for entry in &catalog.entries {
        for key in ReplyKey::ALL {
            for form in Form::ALL {
                let Some(template) = entry.reply(key, form) else {
                    continue;
                };
                reports.push(ReplyReport {
                    file: entry.file.clone(),
                    language: entry.language,
                    key,
                    form,
                    count: count_segments(template),
                });
            }
        }
    }
    reports
}

impl fmt::Display for CatalogProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.key, self.kind)
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::Missing => f.write_str("is missing"),
            ProblemKind::Unknown => f.write_str("is not a name the catalog uses"),
            ProblemKind::Empty => f.write_str("is empty"),
            ProblemKind::Template(error) => write!(f, "is not a valid template: {error}"),
            ProblemKind::PlaceholderMismatch {
                expected,
                found,
                reference,
            } => write!(
                f,
                "has placeholders {found:?} but {reference} has {expected:?}"
            ),
            ProblemKind::ForbiddenWord { word } => {
                write!(f, "discreet form contains the forbidden word {word:?}")
            }
            ProblemKind::Link => f.write_str("discreet form contains a link"),
            ProblemKind::KeywordConflict { word, other } => {
                write!(f, "keyword {word:?} is also a keyword in {other}")
            }
            ProblemKind::NotLowercase { phrase } => {
                write!(f, "risk phrase {phrase:?} is not lower-case")
            }
        }
    }
}

impl fmt::Display for ReplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let SegmentCount {
            encoding,
            segments,
            units_used,
            ..
        } = self.count;
        let (file, key, form) = (&self.file, self.key, self.form);
        let encoding = encoding.as_str();
        write!(
            f,
            "{file}: replies.{key}.{form}: {encoding}, {segments} SMS, {units_used} units"
        )
    }
}

#[derive(Default)]
struct Problems {
    found: Vec<CatalogProblem>,
}

impl Problems {
    fn add(&mut self, entry: &LanguageEntry, key: String, kind: ProblemKind) {
        self.found.push(CatalogProblem {
            file: entry.file.clone(),
            key,
            kind,
        });
    }
}

/// Placeholders every language and form of a reply must have: those of its first readable
/// form, in catalog order, with where they were taken from.
fn reference_placeholders(catalog: &Catalog) -> HashMap<ReplyKey, (BTreeSet<String>, String)> {
    let mut reference = HashMap::new();
    for entry in &catalog.entries {
        for key in ReplyKey::ALL {
            for form in Form::ALL {
                let Some(names) = entry.reply(key, form).and_then(owned_placeholders) else {
                    continue;
                };
                let source = format!("{}: replies.{key}.{form}", entry.file);
                reference.entry(key).or_insert((names, source));
            }
        }
    }
    reference
}

fn owned_placeholders(template: &str) -> Option<BTreeSet<String>> {
    let names = template::placeholders(template).ok()?;
    Some(names.into_iter().map(str::to_owned).collect())
}

fn check_replies(
    entry: &LanguageEntry,
    reference: &HashMap<ReplyKey, (BTreeSet<String>, String)>,
    problems: &mut Problems,
) {
    for key in ReplyKey::ALL {
        for form in Form::ALL {
            let at = format!("replies.{key}.{form}");
            let Some(template) = entry.reply(key, form) else {
                problems.add(entry, at, ProblemKind::Missing);
                continue;
            };
            if template.trim().is_empty() {
                problems.add(entry, at.clone(), ProblemKind::Empty);
            }
            match owned_placeholders(template) {
                None => check_template_syntax(entry, at, template, problems),
                Some(found) => match reference.get(&key) {
                    Some((expected, source)) if *expected != found => {
                        let kind = ProblemKind::PlaceholderMismatch {
                            expected: expected.iter().cloned().collect(),
                            found: found.into_iter().collect(),
                            reference: source.clone(),
                        };
                        problems.add(entry, at, kind);
                    }
                    _ => {}
                },
            }
        }
    }
    check_unknown_replies(entry, problems);
}

fn check_template_syntax(
    entry: &LanguageEntry,
    at: String,
    template: &str,
    problems: &mut Problems,
) {
    if let Err(error) = template::placeholders(template) {
        problems.add(entry, at, ProblemKind::Template(error));
    }
}

fn check_unknown_replies(entry: &LanguageEntry, problems: &mut Problems) {
    for (key, forms) in &entry.file_contents.replies {
        if !ReplyKey::ALL.iter().any(|known| known.as_str() == key) {
            problems.add(entry, format!("replies.{key}"), ProblemKind::Unknown);
            continue;
        }
        for form in forms.keys() {
            if !Form::ALL.iter().any(|known| known.as_str() == form) {
                problems.add(entry, format!("replies.{key}.{form}"), ProblemKind::Unknown);
            }
        }
    }
}

fn check_discreet_forms(entry: &LanguageEntry, problems: &mut Problems) {
    let forbidden = &entry.file_contents.discreet.forbidden;
    if forbidden.is_empty() {
        problems.add(entry, "discreet.forbidden".to_owned(), ProblemKind::Empty);
    }

    for key in ReplyKey::ALL {
        let Some(text) = entry
            .reply(key, Form::Discreet)
            .and_then(|t| template::literal_text(t).ok())
        else {
            continue;
        };
        let at = format!("replies.{key}.discreet");
        let folded = fold_for_matching(&text);
        for word in forbidden
            .iter()
            .filter(|word| contains_phrase(&folded, word))
        {
            problems.add(
                entry,
                at.clone(),
                ProblemKind::ForbiddenWord { word: word.clone() },
            );
        }
        if contains_link(&text) {
            problems.add(entry, at, ProblemKind::Link);
        }
    }
}

/// A scheme, `www.`, or a word shaped like `name.tld` or `name.tld/path`.
fn contains_link(text: &str) -> bool {
    let lower = text.to_lowercase();
    if lower.contains("://") || lower.contains("www.") {
        return true;
    }
    lower.split_whitespace().any(|word| {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '/');
        let host = word.split('/').next().unwrap_or_default();
        let mut labels = host.rsplit('.');
        let top = labels.next().unwrap_or_default();
        let rest: Vec<&str> = labels.collect();
        !rest.is_empty()
            && rest.iter().all(|label| !label.is_empty())
            && top.len() >= 2
            && top.chars().all(|c| c.is_ascii_alphabetic())
    })
}

fn check_keywords(entry: &LanguageEntry, problems: &mut Problems) {
    let lists = &entry.file_contents.keywords;
    for kind in KeywordKind::ALL {
        let at = format!("keywords.{}", kind.as_str());
        match lists.get(kind.as_str()) {
            None => problems.add(entry, at, ProblemKind::Missing),
            Some(words) if words.iter().all(|word| fold_for_matching(word).is_empty()) => {
                problems.add(entry, at, ProblemKind::Empty);
            }
            Some(_) => {}
        }
    }
    for name in lists.keys() {
        if !KeywordKind::ALL.iter().any(|kind| kind.as_str() == name) {
            problems.add(entry, format!("keywords.{name}"), ProblemKind::Unknown);
        }
    }
}

fn check_keyword_conflicts(catalog: &Catalog, problems: &mut Problems) {
    let mut first_seen: HashMap<String, (KeywordKind, String)> = HashMap::new();
    for entry in &catalog.entries {
        for (kind, word) in entry.keywords() {
            let folded = fold_for_matching(word);
            let here = format!("{}: keywords.{}", entry.file, kind.as_str());
            let (first_kind, first_place) = first_seen.entry(folded).or_insert((kind, here));
            if *first_kind != kind {
                let other = first_place.clone();
                let conflict = ProblemKind::KeywordConflict {
                    word: word.to_owned(),
                    other,
                };
                problems.add(entry, format!("keywords.{}", kind.as_str()), conflict);
            }
        }
    }
}

fn check_risk_phrases(entry: &LanguageEntry, problems: &mut Problems) {
    let lists = &entry.file_contents.risk;
    for category in RiskCategory::ALL {
        let at = format!("risk.{}", category.as_str());
        match lists.get(category.as_str()) {
            None => problems.add(entry, at, ProblemKind::Missing),
            Some(phrases) if phrases.iter().all(|p| fold_for_matching(p).is_empty()) => {
                problems.add(entry, at, ProblemKind::Empty);
            }
            Some(phrases) => {
                for phrase in phrases.iter().filter(|p| p.to_lowercase() != **p) {
                    let kind = ProblemKind::NotLowercase {
                        phrase: phrase.clone(),
                    };
                    problems.add(entry, at.clone(), kind);
                }
            }
        }
    }
    for name in lists.keys() {
        if !RiskCategory::ALL
            .iter()
            .any(|category| category.as_str() == name)
        {
            problems.add(entry, format!("risk.{name}"), ProblemKind::Unknown);
        }
    }
}
