//! The names the catalog is indexed by: languages, keyword kinds, risk categories, reply keys
//! and forms. Each has the spelling used in the TOML files.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A language the catalog has texts for, named by its ISO 639-1 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    Fr,
    Es,
}

/// What a whole-text keyword asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeywordKind {
    /// End all unsolicited sending to this texter.
    Stop,
    /// Undo a stop.
    Start,
    /// Ask what this number is; answered whether or not the texter is subscribed.
    Help,
    /// Destroy what the service holds about the texter.
    Erase,
    /// Opt in to campaigns.
    Join,
    /// Switch the conversation to the language the keyword belongs to.
    Language,
}

/// A kind of danger that raises a conversation's urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RiskCategory {
    ImmediateDanger,
    Violence,
    Minor,
    LockedIn,
    DocumentsTaken,
    BeingMoved,
}

/// An automatic reply the service can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReplyKey {
    FirstContact,
    OutOfHours,
    Acknowledgement,
    StopConfirmation,
    StartConfirmation,
    Help,
    EraseConfirmation,
    LanguageChanged,
}

/// Which wording of a reply: the discreet one is safe on a phone someone else reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Form {
    Standard,
    Discreet,
}

/// A language code that is not one the catalog knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language code (expected en, fr or es)")]
pub struct UnknownLanguage;

impl Language {
    pub const ALL: [Language; 3] = [Language::En, Language::Fr, Language::Es];

    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Fr => "fr",
            Language::Es => "es",
        }
    }

    /// The catalog file that holds this language's texts.
    pub fn file_name(self) -> &'static str {
        match self {
            Language::En => "en.toml",
            Language::Fr => "fr.toml",
            Language::Es => "es.toml",
        }
    }
}

impl FromStr for Language {
    type Err = UnknownLanguage;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Language::ALL
            .into_iter()
            .find(|language| language.code().eq_ignore_ascii_case(code))
            .ok_or(UnknownLanguage)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl KeywordKind {
    pub const ALL: [KeywordKind; 6] = [
        KeywordKind::Stop,
        KeywordKind::Start,
        KeywordKind::Help,
        KeywordKind::Erase,
        KeywordKind::Join,
        KeywordKind::Language,
    ];

    /// The list name under `[keywords]`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeywordKind::Stop => "stop",
            KeywordKind::Start => "start",
            KeywordKind::Help => "help",
            KeywordKind::Erase => "erase",
            KeywordKind::Join => "join",
            KeywordKind::Language => "language",
        }
    }
}

impl RiskCategory {
    pub const ALL: [RiskCategory; 6] = [
        RiskCategory::ImmediateDanger,
        RiskCategory::Violence,
        RiskCategory::Minor,
        RiskCategory::LockedIn,
        RiskCategory::DocumentsTaken,
        RiskCategory::BeingMoved,
    ];

    /// The list name under `[risk]`.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskCategory::ImmediateDanger => "immediate_danger",
            RiskCategory::Violence => "violence",
            RiskCategory::Minor => "minor",
            RiskCategory::LockedIn => "locked_in",
            RiskCategory::DocumentsTaken => "documents_taken",
            RiskCategory::BeingMoved => "being_moved",
        }
    }
}

impl ReplyKey {
    pub const ALL: [ReplyKey; 8] = [
        ReplyKey::FirstContact,
        ReplyKey::OutOfHours,
        ReplyKey::Acknowledgement,
        ReplyKey::StopConfirmation,
        ReplyKey::StartConfirmation,
        ReplyKey::Help,
        ReplyKey::EraseConfirmation,
        ReplyKey::LanguageChanged,
    ];

    /// The table name under `[replies]`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyKey::FirstContact => "first_contact",
            ReplyKey::OutOfHours => "out_of_hours",
            ReplyKey::Acknowledgement => "acknowledgement",
            ReplyKey::StopConfirmation => "stop_confirmation",
            ReplyKey::StartConfirmation => "start_confirmation",
            ReplyKey::Help => "help",
            ReplyKey::EraseConfirmation => "erase_confirmation",
            ReplyKey::LanguageChanged => "language_changed",
        }
    }
}

impl fmt::Display for ReplyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Form {
    pub const ALL: [Form; 2] = [Form::Standard, Form::Discreet];

    /// The entry name inside a `[replies.<key>]` table.
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Standard => "standard",
            Form::Discreet => "discreet",
        }
    }
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
