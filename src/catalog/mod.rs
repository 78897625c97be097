//! The message catalog: every text Textline sends, the keywords it answers to, and the risk
//! phrases triage looks for, in each language, read from `messages/<code>.toml`.
//!
//! The shipped files are compiled in; a deployment can point at its own directory instead.
//! Loading is lenient about missing entries so that [`check`] can list every problem at
//! once; run it before serving and refuse to start when it reports anything.

mod check;
mod matching;
mod template;
mod vocabulary;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use check::{CatalogProblem, ProblemKind, ReplyReport, check, segment_report};
pub use matching::{contains_phrase, fold_for_matching};
pub use template::{RenderError, TemplateError};
pub use vocabulary::{Form, KeywordKind, Language, ReplyKey, RiskCategory, UnknownLanguage};

/// Every language's texts, keywords and risk phrases, indexed for keyword lookup.
#[derive(Debug, Clone)]
pub struct Catalog {
    entries: Vec<LanguageEntry>,
    keyword_index: HashMap<String, Vec<(KeywordKind, Language)>>,
}

/// One language's risk phrases, lower-case, as written in its catalog file.
#[derive(Debug, Clone, Copy)]
pub struct RiskPhrases<'a> {
    lists: &'a BTreeMap<String, Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("read message catalog {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parse message catalog {file}")]
    Parse {
        file: String,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("{dir} holds no message catalog file (en.toml, fr.toml or es.toml)")]
    NoLanguages { dir: PathBuf },
    #[error("{path} is not a language the catalog knows (expected en.toml, fr.toml or es.toml)")]
    UnknownLanguageFile { path: PathBuf },
    #[error("the message catalog has no texts in {0}")]
    LanguageNotLoaded(Language),
    #[error("{file}: replies.{key}.{form} is missing")]
    MissingReply {
        file: String,
        key: ReplyKey,
        form: Form,
    },
    #[error("{file}: replies.{key}.{form} cannot be filled in")]
    Render {
        file: String,
        key: ReplyKey,
        form: Form,
        #[source]
        source: RenderError,
    },
}

impl Catalog {
    /// The catalog shipped in `messages/`, compiled into the binary.
    pub fn load_embedded() -> Result<Catalog, CatalogError> {
        let entries = EMBEDDED
            .iter()
            .map(|&(language, file, text)| LanguageEntry::parse(language, file.to_owned(), text))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Catalog::index(entries))
    }

    /// A deployment's own catalog: the `<code>.toml` files in `dir` replace the shipped ones
    /// entirely. Other `.toml` names are refused so that a misnamed file is not ignored.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Catalog, CatalogError> {
        let dir = dir.as_ref();
        let mut entries = Vec::new();
        for path in language_files(dir)? {
            let language = language_of(&path)?;
            let text = std::fs::read_to_string(&path).map_err(|source| CatalogError::Read {
                path: path.clone(),
                source,
            })?;
            entries.push(LanguageEntry::parse(
                language,
                path.display().to_string(),
                &text,
            )?);
        }
        if entries.is_empty() {
            return Err(CatalogError::NoLanguages {
                dir: dir.to_owned(),
            });
        }
        entries.sort_by_key(|entry| entry.language);
        Ok(Catalog::index(entries))
    }

    /// The languages the catalog has files for, in the order `en`, `fr`, `es`.
    pub fn languages(&self) -> Vec<Language> {
        self.entries.iter().map(|entry| entry.language).collect()
    }

    /// A reply in `language` and `form` with its placeholders filled in from `values`.
    /// A missing, unused or repeated value is an error rather than a text with a hole in it.
    pub fn reply(
        &self,
        language: Language,
        key: ReplyKey,
        form: Form,
        values: &[(&str, &str)],
    ) -> Result<String, CatalogError> {
        let entry = self.entry(language)?;
        let template = entry
            .reply(key, form)
            .ok_or_else(|| CatalogError::MissingReply {
                file: entry.file.clone(),
                key,
                form,
            })?;

        template::render(template, values).map_err(|source| CatalogError::Render {
            file: entry.file.clone(),
            key,
            form,
            source,
        })
    }

    /// The keyword `text` consists of, if it is exactly one, and the language it belongs to
    /// (for [`KeywordKind::Language`], the language to switch to). Case, accents, and spaces
    /// or punctuation around it do not matter. A word shared by several languages, such as
    /// STOP, is reported in the first of `en`, `fr`, `es` that has it.
    pub fn match_keyword(&self, text: &str) -> Option<(KeywordKind, Language)> {
        self.keyword_candidates(text)?.first().copied()
    }

    /// Like [`Catalog::match_keyword`], but a word shared by several languages is reported in
    /// `preferred` when that language has it, e.g. the texter's conversation language.
    pub fn match_keyword_preferring(
        &self,
        text: &str,
        preferred: Language,
    ) -> Option<(KeywordKind, Language)> {
        let candidates = self.keyword_candidates(text)?;
        candidates
            .iter()
            .find(|(_, language)| *language == preferred)
            .or_else(|| candidates.first())
            .copied()
    }

    /// The risk phrases of `language`, by category.
    pub fn risk_phrases(&self, language: Language) -> Result<RiskPhrases<'_>, CatalogError> {
        let entry = self.entry(language)?;
        Ok(RiskPhrases {
            lists: &entry.file_contents.risk,
        })
    }

    fn index(entries: Vec<LanguageEntry>) -> Catalog {
        let mut keyword_index: HashMap<String, Vec<(KeywordKind, Language)>> = HashMap::new();
        for entry in &entries {
            for (kind, word) in entry.keywords() {
                let found = keyword_index.entry(fold_for_matching(word)).or_default();
                if !found.contains(&(kind, entry.language)) {
                    found.push((kind, entry.language));
                }
            }
        }
        Catalog {
            entries,
            keyword_index,
        }
    }

    fn entry(&self, language: Language) -> Result<&LanguageEntry, CatalogError> {
        self.entries
            .iter()
            .find(|entry| entry.language == language)
            .ok_or(CatalogError::LanguageNotLoaded(language))
    }

    fn keyword_candidates(&self, text: &str) -> Option<&[(KeywordKind, Language)]> {
        if text.len() > MAX_KEYWORD_TEXT_BYTES {
            return None;
        }
        self.keyword_index
            .get(&fold_for_matching(text))
            .map(Vec::as_slice)
    }
}

impl<'a> RiskPhrases<'a> {
    /// The phrases of one category; empty when the file has none.
    pub fn get(&self, category: RiskCategory) -> &'a [String] {
        self.lists.get(category.as_str()).map_or(&[], Vec::as_slice)
    }

    /// Every phrase with its category.
    pub fn iter(&self) -> impl Iterator<Item = (RiskCategory, &'a str)> + 'a {
        let lists = self.lists;
        RiskCategory::ALL.into_iter().flat_map(move |category| {
            let phrases = lists.get(category.as_str()).map_or(&[][..], Vec::as_slice);
            phrases
                .iter()
                .map(move |phrase| (category, phrase.as_str()))
        })
    }
}

/// Texts longer than this are never a keyword, so they are not folded to find out.
const MAX_KEYWORD_TEXT_BYTES: usize = 64;

/// The shipped files, with the name problems report them under.
const EMBEDDED: [(Language, &str, &str); 3] = [
    (
        Language::En,
        "messages/en.toml",
        include_str!("../../messages/en.toml"),
    ),
    (
        Language::Fr,
        "messages/fr.toml",
        include_str!("../../messages/fr.toml"),
    ),
    (
        Language::Es,
        "messages/es.toml",
        include_str!("../../messages/es.toml"),
    ),
];

/// One language's file as read, kept whole so that [`check`] can report on all of it.
#[derive(Debug, Clone)]
struct LanguageEntry {
    language: Language,
    /// Where the texts came from, as shown in problems: `messages/fr.toml` or a path.
    file: String,
    file_contents: LanguageFile,
}

/// The layout of a `messages/<code>.toml` file. Sections are maps rather than fixed fields
/// so that a missing or misspelt entry is reported by [`check`] instead of failing the load.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LanguageFile {
    #[serde(default)]
    keywords: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    risk: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    discreet: DiscreetRules,
    #[serde(default)]
    replies: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscreetRules {
    #[serde(default)]
    forbidden: Vec<String>,
}

impl LanguageEntry {
    fn parse(language: Language, file: String, text: &str) -> Result<Self, CatalogError> {
        match toml::from_str(text) {
            Ok(file_contents) => Ok(LanguageEntry {
                language,
                file,
                file_contents,
            }),
            Err(source) => Err(CatalogError::Parse {
                file,
                source: Box::new(source),
            }),
        }
    }

    fn reply(&self, key: ReplyKey, form: Form) -> Option<&str> {
        let forms = self.file_contents.replies.get(key.as_str())?;
        forms.get(form.as_str()).map(String::as_str)
    }

    /// Every keyword of a known kind, with its kind.
    fn keywords(&self) -> impl Iterator<Item = (KeywordKind, &str)> {
        KeywordKind::ALL.into_iter().flat_map(move |kind| {
            let words = self.file_contents.keywords.get(kind.as_str());
            words
                .into_iter()
                .flatten()
                .map(move |word| (kind, word.as_str()))
        })
    }
}

fn language_files(dir: &Path) -> Result<Vec<PathBuf>, CatalogError> {
    let read_error = |source| CatalogError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut paths = Vec::new();
    for dir_entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = dir_entry.map_err(read_error)?.path();
        if path
            .extension()
            .is_some_and(|extension| extension == "toml")
        {
            paths.push(path);
        }
    }
    Ok(paths)
}

fn language_of(path: &Path) -> Result<Language, CatalogError> {
    path.file_stem()
        .and_then(|stem| stem.to_str())
        .and_then(|stem| {
            Language::ALL
                .into_iter()
                .find(|language| language.code() == stem)
        })
        .ok_or_else(|| CatalogError::UnknownLanguageFile {
            path: path.to_owned(),
        })
}

#[cfg(test)]
mod tests;
