//! Which language a texter writes in, among those the catalog speaks.
//!
//! Short texts are guessed badly, so a guess counts only when the detector is confident;
//! otherwise the contact's known language, then the channel's, is used.

use whatlang::{Detector, Lang};

use crate::catalog::Language;

/// Texts shorter than this many letters are not guessed at all.
const MIN_LETTERS: usize = 12;

/// The language of `text`, if it can be told with confidence.
pub fn detect(text: &str) -> Option<Language> {
    if text.chars().filter(|c| c.is_alphabetic()).count() < MIN_LETTERS {
        return None;
    }
    let detector = Detector::with_allowlist(vec![Lang::Eng, Lang::Fra, Lang::Spa]);
    let info = detector.detect(text)?;
    if !info.is_reliable() {
        return None;
    }
    match info.lang() {
        Lang::Eng => Some(Language::En),
        Lang::Fra => Some(Language::Fr),
        Lang::Spa => Some(Language::Es),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_sentences_are_recognised() {
        assert_eq!(
            detect("I need help, they took my passport and I cannot leave"),
            Some(Language::En)
        );
        assert_eq!(
            detect("J'ai besoin d'aide, ils ont pris mon passeport et je ne peux pas partir"),
            Some(Language::Fr)
        );
        assert_eq!(
            detect("Necesito ayuda, me quitaron el pasaporte y no puedo salir de aquí"),
            Some(Language::Es)
        );
    }

    #[test]
    fn short_texts_are_not_guessed() {
        assert_eq!(detect("hola"), None);
        assert_eq!(detect("ok"), None);
    }
}
