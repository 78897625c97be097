//! Segment counting against the reference cases, the GSM 03.38 tables, and an independent
//! splitter that cuts the encoded text into real parts.

use std::borrow::Cow;

use proptest::prelude::*;

use super::{
    BASIC_TABLE, ESCAPE_CODE, EXTENSION_TABLE, Encoding, SegmentCount, count_segments,
    gsm7_septets, is_gsm7, lookalike, replace_lookalikes,
};

fn assert_count(text: &str, encoding: Encoding, units: u32, segments: u32) {
    let count = count_segments(text);
    assert_eq!(
        (count.encoding, count.units_used, count.segments),
        (encoding, units, segments)
    );
}

fn repeat(c: &str, n: usize) -> String {
    c.repeat(n)
}

// The cases of the reference table, section 6.2, one test each.

#[test]
fn a_text_of_160_basic_characters_fits_one_segment() {
    assert_count(&repeat("a", 160), Encoding::Gsm7, 160, 1);
}

#[test]
fn a_text_of_161_basic_characters_takes_two_segments() {
    assert_count(&repeat("a", 161), Encoding::Gsm7, 161, 2);
}

#[test]
fn a_text_of_306_basic_characters_fills_exactly_two_parts() {
    assert_count(&repeat("a", 306), Encoding::Gsm7, 306, 2);
}

#[test]
fn a_text_of_307_basic_characters_takes_three_segments() {
    assert_count(&repeat("a", 307), Encoding::Gsm7, 307, 3);
}

#[test]
fn eighty_extension_characters_fill_one_segment_at_two_septets_each() {
    assert_count(&repeat("{", 80), Encoding::Gsm7, 160, 1);
}

#[test]
fn a_euro_sign_after_159_letters_pushes_the_text_to_two_segments() {
    assert_count(&format!("{}€", repeat("a", 159)), Encoding::Gsm7, 161, 2);
}

#[test]
fn an_extension_character_is_never_split_so_306_septets_can_take_three_segments() {
    assert_count(
        &format!("{}{}", repeat("a", 152), repeat("{", 77)),
        Encoding::Gsm7,
        306,
        3,
    );
}

#[test]
fn seventy_cyrillic_letters_fit_one_ucs2_segment() {
    assert_count(&repeat("Ж", 70), Encoding::Ucs2, 70, 1);
}

#[test]
fn seventy_one_cyrillic_letters_take_two_ucs2_segments() {
    assert_count(&repeat("Ж", 71), Encoding::Ucs2, 71, 2);
}

#[test]
fn thirty_five_emoji_fill_one_segment_at_two_utf16_units_each() {
    assert_count(&repeat("😀", 35), Encoding::Ucs2, 70, 1);
}

#[test]
fn thirty_six_emoji_take_two_segments() {
    assert_count(&repeat("😀", 36), Encoding::Ucs2, 72, 2);
}

#[test]
fn one_lowercase_c_cedilla_turns_159_letters_into_three_ucs2_segments() {
    assert_count(&format!("{}ç", repeat("a", 159)), Encoding::Ucs2, 160, 3);
}

#[test]
fn a_backtick_forces_ucs2() {
    assert_count("Hello ` world", Encoding::Ucs2, 13, 1);
}

// The tables of section 6.1.

#[test]
fn the_basic_table_has_127_distinct_characters_besides_the_escape() {
    let mut characters: Vec<char> = BASIC_TABLE
        .iter()
        .enumerate()
        .filter(|&(code, _)| code != ESCAPE_CODE)
        .map(|(_, &c)| c)
        .collect();
    characters.sort_unstable();
    characters.dedup();

    assert_eq!(characters.len(), 127);
}

#[test]
fn exactly_the_table_characters_of_the_basic_multilingual_plane_are_gsm7() {
    let septets: Vec<u32> = (0..=0xFFFF)
        .filter_map(char::from_u32)
        .filter_map(gsm7_septets)
        .collect();

    assert_eq!(septets.iter().filter(|&&n| n == 1).count(), 127);
    assert_eq!(
        septets.iter().filter(|&&n| n == 2).count(),
        EXTENSION_TABLE.len()
    );
}

#[test]
fn the_table_positions_the_reference_singles_out_are_right() {
    assert_eq!(BASIC_TABLE[0x02], '$');
    assert_eq!(BASIC_TABLE[0x24], '¤');
    assert_eq!(BASIC_TABLE[0x09], 'Ç');
    assert_eq!(BASIC_TABLE[0x40], '¡');
    assert_eq!(BASIC_TABLE[0x60], '¿');
    assert_eq!(BASIC_TABLE[0x7F], 'à');
}

#[test]
fn extension_characters_cost_two_septets() {
    for c in ['\u{0C}', '^', '{', '}', '\\', '[', '~', ']', '|', '€'] {
        assert_eq!(gsm7_septets(c), Some(2), "{c:?}");
    }
}

#[test]
fn characters_the_reference_lists_as_not_gsm7_are_refused() {
    for c in [
        '`', 'ç', 'á', 'í', 'ó', 'ú', 'â', 'ê', '’', '“', '”', '–', '\t', '\u{A0}', '😀',
    ] {
        assert_eq!(gsm7_septets(c), None, "{c:?}");
    }
}

#[test]
fn an_escape_character_in_a_text_is_not_gsm7() {
    assert!(!is_gsm7("\u{1B}"));
}

// Counting details.

#[test]
fn an_empty_text_still_occupies_one_sms() {
    let count = count_segments("");

    assert_eq!(count.segments, 1);
    assert_eq!(count.remaining_in_segment, 160);
}

#[test]
fn a_short_text_reports_the_room_left_in_its_single_segment() {
    let count = count_segments("hello");

    assert_eq!(
        (count.units_per_segment, count.remaining_in_segment),
        (160, 155)
    );
}

#[test]
fn a_long_text_reports_the_room_left_in_its_last_part() {
    let count = count_segments(&repeat("a", 161));

    assert_eq!(
        (count.units_per_segment, count.remaining_in_segment),
        (153, 145)
    );
}

#[test]
fn a_part_that_cannot_take_an_extension_character_leaves_one_septet_unused() {
    let count = count_segments(&format!("{}{}", repeat("a", 152), repeat("{", 77)));

    assert_eq!(count.remaining_in_segment, 153 - 2);
}

// Look-alikes.

#[test]
fn curly_quotes_dashes_and_ellipsis_become_plain_gsm7() {
    let replaced = replace_lookalikes("It’s “fine” – really…");

    assert_eq!(replaced, "It's \"fine\" - really...");
    assert!(is_gsm7(&replaced));
}

#[test]
fn french_narrow_spaces_and_guillemets_become_plain_gsm7() {
    assert_eq!(
        replace_lookalikes("«\u{202F}Oui\u{202F}»\u{A0}!"),
        "\" Oui \" !"
    );
}

#[test]
fn a_text_that_stays_ucs2_keeps_its_typography() {
    assert!(matches!(
        replace_lookalikes("C’est reçu 😀"),
        Cow::Borrowed(_)
    ));
}

#[test]
fn a_text_already_in_gsm7_is_returned_as_it_is() {
    assert!(matches!(
        replace_lookalikes("Plain text, 100%."),
        Cow::Borrowed(_)
    ));
}

#[test]
fn every_lookalike_replaces_a_non_gsm7_character_with_gsm7_text() {
    for c in (0..=0xFFFF).filter_map(char::from_u32) {
        if let Some(plain) = lookalike(c) {
            assert_eq!(gsm7_septets(c), None, "{c:?} is already GSM-7");
            assert!(is_gsm7(plain), "{c:?} is replaced by {plain:?}");
        }
    }
}

/// Splits the text the way a sender would: encode it into septets or UTF-16 units, then cut
/// fixed-size parts, moving a trailing escape or high surrogate into the next part.
fn split_into_parts(text: &str) -> (Encoding, Vec<usize>) {
    match encode_gsm7(text) {
        Some(septets) => (Encoding::Gsm7, cut(&septets, 160, 153, |&s| s == 0x1B)),
        None => {
            let units: Vec<u16> = text.encode_utf16().collect();
            let high_surrogate = |u: &u16| (0xD800..0xDC00).contains(u);
            (Encoding::Ucs2, cut(&units, 70, 67, high_surrogate))
        }
    }
}

fn encode_gsm7(text: &str) -> Option<Vec<u8>> {
    let mut septets = Vec::new();
    for c in text.chars() {
        let basic = BASIC_TABLE
            .iter()
            .position(|&b| b == c)
            .filter(|&code| code != ESCAPE_CODE);
        let extension = EXTENSION_TABLE.iter().find(|&&(_, e)| e == c);
        match (basic, extension) {
            (Some(code), _) => septets.push(u8::try_from(code).ok()?),
            (None, Some(&(code, _))) => septets.extend([0x1B, code]),
            (None, None) => return None,
        }
    }
    Some(septets)
}

/// Lengths of the parts, in units.
fn cut<T>(
    units: &[T],
    single: usize,
    part: usize,
    must_not_end: impl Fn(&T) -> bool,
) -> Vec<usize> {
    if units.len() <= single {
        return vec![units.len()];
    }
    let mut lengths = Vec::new();
    let mut rest = units;
    while !rest.is_empty() {
        let mut take = part.min(rest.len());
        if take < rest.len() && must_not_end(&rest[take - 1]) {
            take -= 1;
        }
        lengths.push(take);
        rest = &rest[take..];
    }
    lengths
}

fn basic_char() -> impl Strategy<Value = char> {
    let basic: Vec<char> = BASIC_TABLE
        .iter()
        .enumerate()
        .filter(|&(code, _)| code != ESCAPE_CODE)
        .map(|(_, &c)| c)
        .collect();
    prop::sample::select(basic)
}

fn any_sms_char() -> impl Strategy<Value = char> {
    let extension: Vec<char> = EXTENSION_TABLE.iter().map(|&(_, c)| c).collect();
    prop_oneof![
        6 => basic_char(),
        2 => prop::sample::select(extension),
        1 => prop::sample::select(vec!['ç', 'Ж', '’', '`', '\u{A0}', 'ê']),
        1 => prop::sample::select(vec!['😀', '🙏', '𝄞']),
        1 => any::<char>(),
    ]
}

fn non_gsm7_char() -> impl Strategy<Value = char> {
    any::<char>().prop_filter("not in GSM-7", |&c| gsm7_septets(c).is_none())
}

proptest! {
    #[test]
    fn a_basic_text_of_n_characters_takes_one_segment_or_n_over_153_rounded_up(
        text in prop::collection::vec(basic_char(), 1..1200)
    ) {
        let n = u32::try_from(text.len()).unwrap();
        let expected = if n <= 160 { 1 } else { n.div_ceil(153) };

        let count = count_segments(&text.iter().collect::<String>());

        prop_assert_eq!(count.encoding, Encoding::Gsm7);
        prop_assert_eq!(count.segments, expected);
    }

    #[test]
    fn one_character_outside_gsm7_switches_the_text_to_ucs2(
        text in prop::collection::vec(basic_char(), 0..400),
        extra in non_gsm7_char(),
        at in any::<prop::sample::Index>(),
    ) {
        let mut text = text;
        text.insert(at.index(text.len() + 1), extra);

        prop_assert_eq!(count_segments(&text.iter().collect::<String>()).encoding, Encoding::Ucs2);
    }

    #[test]
    fn appending_text_never_lowers_the_segment_count(
        start in prop::collection::vec(any_sms_char(), 0..500),
        more in prop::collection::vec(any_sms_char(), 0..200),
    ) {
        let start: String = start.into_iter().collect();
        let longer = format!("{start}{}", more.into_iter().collect::<String>());

        prop_assert!(count_segments(&longer).segments >= count_segments(&start).segments);
    }

    #[test]
    fn the_count_matches_a_splitter_that_cuts_the_encoded_text(
        text in prop::collection::vec(any_sms_char(), 0..900)
    ) {
        let text: String = text.into_iter().collect();
        let (encoding, parts) = split_into_parts(&text);
        let last = u32::try_from(*parts.last().unwrap()).unwrap();

        let SegmentCount { units_used, units_per_segment, remaining_in_segment, .. } =
            count_segments(&text);

        prop_assert_eq!(count_segments(&text).encoding, encoding);
        prop_assert_eq!(count_segments(&text).segments, u32::try_from(parts.len()).unwrap());
        prop_assert_eq!(units_used, u32::try_from(parts.iter().sum::<usize>()).unwrap());
        prop_assert_eq!(remaining_in_segment, units_per_segment - last);
    }

    #[test]
    fn replacing_lookalikes_gives_gsm7_or_leaves_the_text_alone(
        text in prop::collection::vec(any_sms_char(), 0..200)
    ) {
        let text: String = text.into_iter().collect();

        let replaced = replace_lookalikes(&text);

        prop_assert!(is_gsm7(&replaced) || replaced == text.as_str());
        prop_assert_eq!(replace_lookalikes(&replaced), replaced.clone());
    }
}
