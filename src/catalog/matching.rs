//! How texts are compared with keywords, risk phrases and forbidden words: folded so that
//! case, accents and punctuation do not matter, then compared word by word.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lower-cases `text`, drops accents, and turns every run of characters that are not letters
/// or digits into one space, trimmed at both ends: `" ARRÊT! "` becomes `"arret"` and
/// `"I'm 15"` becomes `"i m 15"`.
pub fn fold_for_matching(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    let mut between_words = false;
    for c in text.nfd().filter(|&c| !is_combining_mark(c)) {
        if !c.is_alphanumeric() {
            between_words = true;
            continue;
        }
        if between_words && !folded.is_empty() {
            folded.push(' ');
        }
        between_words = false;
        folded.extend(c.to_lowercase());
    }
    folded
}

/// True when the folded `phrase` occurs in the folded `text` as whole words. A phrase whose
/// last word ends with `*` also matches a longer word that starts with it.
pub fn contains_phrase(folded_text: &str, phrase: &str) -> bool {
    let (stem, prefix) = match phrase.trim_end().strip_suffix('*') {
        Some(stem) => (stem, true),
        None => (phrase, false),
    };
    let wanted = fold_for_matching(stem);
    let wanted: Vec<&str> = wanted.split(' ').collect();
    let words: Vec<&str> = folded_text.split(' ').collect();
    if wanted.iter().any(|word| word.is_empty()) || words.len() < wanted.len() {
        return false;
    }

    words
        .windows(wanted.len())
        .any(|window| window_matches(window, &wanted, prefix))
}

fn window_matches(window: &[&str], wanted: &[&str], prefix: bool) -> bool {
    let last = wanted.len() - 1;
    window
        .iter()
        .zip(wanted)
        .enumerate()
        .all(|(index, (word, want))| {
            if prefix && index == last {
                word.starts_with(want)
            } else {
                word == want
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_case_accents_and_surrounding_punctuation() {
        assert_eq!(fold_for_matching(" ARRÊT! "), "arret");
        assert_eq!(fold_for_matching("Información..."), "informacion");
        assert_eq!(fold_for_matching("¡Español!"), "espanol");
    }

    #[test]
    fn folding_keeps_one_space_between_words() {
        assert_eq!(fold_for_matching("opt-out"), "opt out");
        assert_eq!(fold_for_matching("I'm   15 !"), "i m 15");
    }

    #[test]
    fn a_phrase_matches_whole_words_only() {
        let text = fold_for_matching("The police station is closed");

        assert!(contains_phrase(&text, "police"));
        assert!(contains_phrase(&text, "Police Station"));
        assert!(!contains_phrase(&text, "polic"));
        assert!(!contains_phrase(&text, "station closed"));
    }

    #[test]
    fn a_starred_phrase_matches_the_start_of_a_word() {
        let text = fold_for_matching("No abusive messages, no sex work");

        assert!(contains_phrase(&text, "abus*"));
        assert!(contains_phrase(&text, "sex work*"));
        assert!(!contains_phrase(&text, "busive*"));
    }

    #[test]
    fn a_phrase_with_accents_matches_text_without_them() {
        let text = fold_for_matching("appelez la ligne d'ecoute");

        assert!(contains_phrase(&text, "ligne d'écoute"));
    }

    #[test]
    fn an_empty_phrase_matches_nothing() {
        assert!(!contains_phrase("anything", "*"));
        assert!(!contains_phrase("anything", ""));
    }
}
