//! The shipped catalog, keyword matching in each language, rendering, and the problems
//! `check` must find in a broken deployment catalog.

use tempfile::TempDir;

use super::*;

fn shipped() -> Catalog {
    Catalog::load_embedded().expect("the shipped catalog parses")
}

/// A deployment directory holding the shipped files, with `edits` applied as
/// `(language, text to find, replacement)`.
fn catalog_dir(edits: &[(Language, &str, &str)]) -> (TempDir, Result<Catalog, CatalogError>) {
    let dir = tempfile::tempdir().unwrap();
    for (language, _, text) in EMBEDDED {
        let mut text = text.to_owned();
        for &(_, from, to) in edits.iter().filter(|(edited, _, _)| *edited == language) {
            assert!(text.contains(from), "{from:?} is not in {language}.toml");
            text = text.replacen(from, to, 1);
        }
        std::fs::write(dir.path().join(language.file_name()), text).unwrap();
    }
    let catalog = Catalog::from_dir(dir.path());
    (dir, catalog)
}

fn problems_after(edits: &[(Language, &str, &str)]) -> Vec<CatalogProblem> {
    let (_dir, catalog) = catalog_dir(edits);
    check(&catalog.unwrap())
}

#[test]
fn the_shipped_catalog_passes_the_check() {
    let problems = check(&shipped());

    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "{listed:#?}");
}

#[test]
fn the_shipped_catalog_has_english_french_and_spanish() {
    assert_eq!(
        shipped().languages(),
        [Language::En, Language::Fr, Language::Es]
    );
}

#[test]
fn the_segment_report_covers_both_forms_of_every_reply_in_every_language() {
    let reports = segment_report(&shipped());

    assert_eq!(reports.len(), 3 * ReplyKey::ALL.len() * 2);
    assert!(reports.iter().all(|report| report.count.segments >= 1));
}

#[test]
fn every_shipped_language_has_phrases_in_every_risk_category() {
    let catalog = shipped();
    for language in catalog.languages() {
        let phrases = catalog.risk_phrases(language).unwrap();
        for category in RiskCategory::ALL {
            assert!(!phrases.get(category).is_empty(), "{language} {category:?}");
        }
    }
}

#[test]
fn keywords_match_in_english_french_and_spanish() {
    let catalog = shipped();
    let cases = [
        ("stop", KeywordKind::Stop, Language::En),
        (" Stop! ", KeywordKind::Stop, Language::En),
        ("UNSUBSCRIBE", KeywordKind::Stop, Language::En),
        ("opt-out", KeywordKind::Stop, Language::En),
        ("Unstop", KeywordKind::Start, Language::En),
        ("help?", KeywordKind::Help, Language::En),
        ("Erase", KeywordKind::Erase, Language::En),
        ("join", KeywordKind::Join, Language::En),
        ("English", KeywordKind::Language, Language::En),
        ("arrêt", KeywordKind::Stop, Language::Fr),
        ("ARRET.", KeywordKind::Stop, Language::Fr),
        ("Désabonner", KeywordKind::Stop, Language::Fr),
        ("aide", KeywordKind::Help, Language::Fr),
        ("EFFACER !", KeywordKind::Erase, Language::Fr),
        ("supprimer", KeywordKind::Erase, Language::Fr),
        ("Français", KeywordKind::Language, Language::Fr),
        ("francais", KeywordKind::Language, Language::Fr),
        ("parar", KeywordKind::Stop, Language::Es),
        ("¡BAJA!", KeywordKind::Stop, Language::Es),
        ("no más", KeywordKind::Stop, Language::Es),
        ("Ayuda", KeywordKind::Help, Language::Es),
        ("Información", KeywordKind::Help, Language::Es),
        ("borrar", KeywordKind::Erase, Language::Es),
        ("eliminar.", KeywordKind::Erase, Language::Es),
        ("español", KeywordKind::Language, Language::Es),
        ("inglés", KeywordKind::Language, Language::En),
    ];
    for (text, kind, language) in cases {
        assert_eq!(
            catalog.match_keyword(text),
            Some((kind, language)),
            "{text:?}"
        );
    }
}

#[test]
fn a_sentence_containing_a_keyword_is_not_a_keyword() {
    let catalog = shipped();
    for text in [
        "please stop texting me",
        "stop it",
        "je veux arrêter",
        "ayuda por favor",
        "",
    ] {
        assert_eq!(catalog.match_keyword(text), None, "{text:?}");
    }
}

#[test]
fn yes_is_a_message_for_the_caseworker_not_an_opt_in() {
    let catalog = shipped();
    for text in ["yes", "YES", "oui", "sí"] {
        assert_eq!(catalog.match_keyword(text), None, "{text:?}");
    }
}

#[test]
fn a_long_text_is_never_a_keyword() {
    let text = format!("stop{}", " ".repeat(100));

    assert_eq!(shipped().match_keyword(&text), None);
}

#[test]
fn a_shared_keyword_is_reported_in_the_preferred_language() {
    let catalog = shipped();

    assert_eq!(
        catalog.match_keyword("STOP"),
        Some((KeywordKind::Stop, Language::En))
    );
    assert_eq!(
        catalog.match_keyword_preferring("STOP", Language::Es),
        Some((KeywordKind::Stop, Language::Es))
    );
    assert_eq!(
        catalog.match_keyword_preferring("arret", Language::Es),
        Some((KeywordKind::Stop, Language::Fr))
    );
}

#[test]
fn a_reply_renders_with_its_placeholders_filled_in() {
    let values = [("emergency_number", "112"), ("opening_hours", "9:00-18:00")];

    let text = shipped().reply(Language::Fr, ReplyKey::OutOfHours, Form::Discreet, &values);

    let text = text.unwrap();
    assert!(
        text.contains("112") && text.contains("9:00-18:00"),
        "{text}"
    );
    assert!(!text.contains('{'));
}

#[test]
fn a_reply_missing_a_placeholder_value_is_refused() {
    let values = [("opening_hours", "9:00-18:00")];

    let error = shipped().reply(Language::En, ReplyKey::OutOfHours, Form::Standard, &values);

    assert!(matches!(
        error,
        Err(CatalogError::Render {
            source: RenderError::Missing { .. },
            ..
        })
    ));
}

#[test]
fn a_reply_given_an_unknown_placeholder_is_refused() {
    let error = shipped().reply(
        Language::Es,
        ReplyKey::Help,
        Form::Discreet,
        &[("name", "Ana")],
    );

    assert!(matches!(
        error,
        Err(CatalogError::Render {
            source: RenderError::Unknown { .. },
            ..
        })
    ));
}

#[test]
fn a_reply_in_a_language_the_catalog_lacks_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("en.toml"), EMBEDDED[0].2).unwrap();
    let catalog = Catalog::from_dir(dir.path()).unwrap();

    let error = catalog.reply(Language::Fr, ReplyKey::Help, Form::Standard, &[]);

    assert!(matches!(
        error,
        Err(CatalogError::LanguageNotLoaded(Language::Fr))
    ));
}

#[test]
fn a_missing_reply_form_is_reported_with_its_file_and_key() {
    let problems = problems_after(&[(
        Language::En,
        "discreet = \"Got your message, we'll reply soon.\"",
        "",
    )]);

    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].file.ends_with("en.toml"));
    assert_eq!(problems[0].key, "replies.acknowledgement.discreet");
    assert_eq!(problems[0].kind, ProblemKind::Missing);
}

#[test]
fn a_mismatched_placeholder_is_reported_with_its_file_and_key() {
    let problems = problems_after(&[(
        Language::Fr,
        "Si c'est urgent, appelez le \\\n{emergency_number}",
        "Si c'est urgent, appelez le {emergency_phone}",
    )]);

    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].file.ends_with("fr.toml"));
    assert_eq!(problems[0].key, "replies.out_of_hours.discreet");
    assert!(matches!(
        problems[0].kind,
        ProblemKind::PlaceholderMismatch { .. }
    ));
}

#[test]
fn a_forbidden_word_in_a_discreet_form_is_reported_with_its_file_and_key() {
    let problems = problems_after(&[(
        Language::Es,
        "Recibimos tu mensaje, te respondemos pronto.",
        "Recibimos tu mensaje. Si corres peligro, llama a la Policía.",
    )]);

    let words: Vec<(&str, &str, &ProblemKind)> = problems
        .iter()
        .map(|p| (p.file.as_str(), p.key.as_str(), &p.kind))
        .collect();
    assert_eq!(problems.len(), 2, "{words:#?}");
    for problem in &problems {
        assert!(problem.file.ends_with("es.toml"));
        assert_eq!(problem.key, "replies.acknowledgement.discreet");
    }
    assert_eq!(
        problems[0].kind,
        ProblemKind::ForbiddenWord {
            word: "polic*".into()
        }
    );
    assert_eq!(
        problems[1].kind,
        ProblemKind::ForbiddenWord {
            word: "peligro*".into()
        }
    );
}

#[test]
fn a_link_in_a_discreet_form_is_reported() {
    let problems = problems_after(&[(
        Language::En,
        "Got your message, we'll reply soon.",
        "Got your message, see example.org/faq",
    )]);

    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].key, "replies.acknowledgement.discreet");
    assert_eq!(problems[0].kind, ProblemKind::Link);
}

#[test]
fn a_misspelt_reply_name_is_reported_as_unknown_and_the_real_one_as_missing() {
    let problems = problems_after(&[(Language::En, "[replies.help]", "[replies.hepl]")]);

    let keys: Vec<(&str, &ProblemKind)> =
        problems.iter().map(|p| (p.key.as_str(), &p.kind)).collect();
    assert!(
        keys.contains(&("replies.hepl", &ProblemKind::Unknown)),
        "{keys:?}"
    );
    assert!(
        keys.contains(&("replies.help.standard", &ProblemKind::Missing)),
        "{keys:?}"
    );
    assert!(
        keys.contains(&("replies.help.discreet", &ProblemKind::Missing)),
        "{keys:?}"
    );
}

#[test]
fn a_word_that_is_two_kinds_of_keyword_is_reported() {
    let problems = problems_after(&[(Language::Fr, "start = [\"START\",", "start = [\"FIN\",")]);

    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].key, "keywords.start");
    assert!(matches!(
        problems[0].kind,
        ProblemKind::KeywordConflict { .. }
    ));
}

#[test]
fn a_risk_phrase_with_capitals_is_reported() {
    let problems = problems_after(&[(Language::En, "\"locked in\"", "\"Locked in\"")]);

    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].key, "risk.locked_in");
}

#[test]
fn a_file_that_is_not_valid_toml_is_refused_with_its_name() {
    let (_dir, catalog) = catalog_dir(&[(Language::Es, "[keywords]", "[keywords")]);

    let error = catalog.unwrap_err();
    assert!(matches!(&error, CatalogError::Parse { file, .. } if file.ends_with("es.toml")));
}

#[test]
fn a_file_named_for_no_known_language_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fr_FR.toml"), EMBEDDED[1].2).unwrap();

    let error = Catalog::from_dir(dir.path()).unwrap_err();

    assert!(matches!(error, CatalogError::UnknownLanguageFile { .. }));
}
