//! GSM-7 or UCS-2, and the number of segments a text is split into.
//!
//! The rules follow 3GPP TS 23.038 and the concatenation header: 160 septets or 70 UTF-16
//! units fit in one SMS; a longer text is sent in parts of 153 septets or 67 units, filled
//! greedily, and a part never ends between the two septets of an extension character or the
//! two halves of a surrogate pair. Plain division gets the boundaries wrong.

use std::borrow::Cow;

/// How the text is carried on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// The GSM 03.38 7-bit default alphabet and its extension table.
    Gsm7,
    /// UTF-16, for any text with a character outside GSM-7.
    Ucs2,
}

/// What a text costs: its encoding, how many segments, and room left in the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentCount {
    pub encoding: Encoding,
    /// SMS parts the provider will bill. An empty text still occupies one SMS.
    pub segments: u32,
    /// Septets for GSM-7 (an extension character counts 2), UTF-16 code units for UCS-2.
    pub units_used: u32,
    /// 160 or 70 for a single SMS, 153 or 67 per part once the text needs several.
    pub units_per_segment: u32,
    /// Units that still fit in the last segment before another one starts, as long as the
    /// encoding does not change.
    pub remaining_in_segment: u32,
}

impl Encoding {
    /// The name shown to caseworkers and in `textline messages check`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        }
    }

    fn single_limit(self) -> u32 {
        match self {
            Encoding::Gsm7 => 160,
            Encoding::Ucs2 => 70,
        }
    }

    fn part_limit(self) -> u32 {
        match self {
            Encoding::Gsm7 => 153,
            Encoding::Ucs2 => 67,
        }
    }
}

/// Counts the segments `text` takes, choosing GSM-7 when every character allows it.
pub fn count_segments(text: &str) -> SegmentCount {
    count_gsm7(text).unwrap_or_else(|| count_ucs2(text))
}

/// True when every character of `text` is in the GSM-7 basic or extension table.
pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| gsm7_septets(c).is_some())
}

/// Septets `c` takes in GSM-7: 1 in the basic table, 2 in the extension table, `None` when
/// it is not in GSM-7 at all.
pub fn gsm7_septets(c: char) -> Option<u32> {
    let code = u32::from(c);
    let septets = match usize::try_from(code) {
        Ok(index) if index < LATIN1_SEPTETS.len() => LATIN1_SEPTETS[index],
        _ => beyond_latin1_septets(c),
    };
    (septets > 0).then_some(u32::from(septets))
}

/// Swaps typographic look-alikes (curly quotes, dashes, ellipsis, unusual spaces, invisible
/// characters) for plain GSM-7 ones, so that a text pasted from a word processor is not
/// billed as UCS-2 at less than half the length per segment.
///
/// It replaces only when the whole text then becomes GSM-7. A text that is UCS-2 anyway
/// (an emoji, Cyrillic, `ç`) comes back unchanged: replacing would save nothing and would
/// take away its author's typography. Letters are never changed, so no word loses an accent.
pub fn replace_lookalikes(text: &str) -> Cow<'_, str> {
    if is_gsm7(text)
        || !text
            .chars()
            .all(|c| gsm7_septets(c).is_some() || lookalike(c).is_some())
    {
        return Cow::Borrowed(text);
    }

    let mut replaced = String::with_capacity(text.len());
    for c in text.chars() {
        match lookalike(c) {
            Some(plain) => replaced.push_str(plain),
            None => replaced.push(c),
        }
    }
    Cow::Owned(replaced)
}

/// The GSM 03.38 basic table in code order; position 0x1B is the escape to the extension
/// table and stands for no character.
const BASIC_TABLE: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', ESCAPE, 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The extension table: the code sent after the escape, and the character it stands for.
const EXTENSION_TABLE: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

const ESCAPE: char = '\u{1B}';
const ESCAPE_CODE: usize = 0x1B;

/// Septets for every character below U+0100, built from the tables at compile time so the
/// common case is one array read; 0 means "not in GSM-7".
const LATIN1_SEPTETS: [u8; 256] = latin1_septets();

const fn latin1_septets() -> [u8; 256] {
    let mut septets = [0u8; 256];
    let mut code = 0;
    while code < BASIC_TABLE.len() {
        let c = BASIC_TABLE[code] as usize;
        if code != ESCAPE_CODE && c < septets.len() {
            septets[c] = 1;
        }
        code += 1;
    }
    let mut entry = 0;
    while entry < EXTENSION_TABLE.len() {
        let c = EXTENSION_TABLE[entry].1 as usize;
        if c < septets.len() {
            septets[c] = 2;
        }
        entry += 1;
    }
    septets
}

/// The few GSM-7 characters above U+00FF: ten Greek capitals and the euro sign.
fn beyond_latin1_septets(c: char) -> u8 {
    if EXTENSION_TABLE.iter().any(|&(_, extension)| extension == c) {
        2
    } else if BASIC_TABLE.contains(&c) {
        1
    } else {
        0
    }
}

fn count_gsm7(text: &str) -> Option<SegmentCount> {
    let mut tally = Tally::new(Encoding::Gsm7);
    for c in text.chars() {
        tally.add(gsm7_septets(c)?);
    }
    Some(tally.finish())
}

fn count_ucs2(text: &str) -> SegmentCount {
    let mut tally = Tally::new(Encoding::Ucs2);
    for c in text.chars() {
        let utf16_units = if c.len_utf16() == 2 { 2 } else { 1 };
        tally.add(utf16_units);
    }
    tally.finish()
}

/// Running totals while a text is packed into parts, one character at a time.
struct Tally {
    encoding: Encoding,
    units: u32,
    parts: u32,
    last_part_units: u32,
}

impl Tally {
    fn new(encoding: Encoding) -> Self {
        Tally {
            encoding,
            units: 0,
            parts: 1,
            last_part_units: 0,
        }
    }

    /// Adds one character of `cost` units; it opens a new part rather than being split.
    fn add(&mut self, cost: u32) {
        self.units = self.units.saturating_add(cost);
        if self.last_part_units + cost > self.encoding.part_limit() {
            self.parts += 1;
            self.last_part_units = cost;
        } else {
            self.last_part_units += cost;
        }
    }

    fn finish(self) -> SegmentCount {
        let single = self.encoding.single_limit();
        let (segments, units_per_segment, remaining_in_segment) = if self.units <= single {
            (1, single, single - self.units)
        } else {
            let per_part = self.encoding.part_limit();
            (self.parts, per_part, per_part - self.last_part_units)
        };
        SegmentCount {
            encoding: self.encoding,
            segments,
            units_used: self.units,
            units_per_segment,
            remaining_in_segment,
        }
    }
}

/// The plain GSM-7 stand-in for a typographic character, or `None` when there is none.
fn lookalike(c: char) -> Option<&'static str> {
    let plain = match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{00B4}' | '`'
        | '\u{2039}' | '\u{203A}' => "'",
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}'
        | '\u{00BB}' => "\"",
        '\u{2010}'..='\u{2015}' | '\u{2212}' => "-",
        '\u{2026}' => "...",
        '\t' | '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => " ",
        '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => "",
        _ => return None,
    };
    Some(plain)
}

#[cfg(test)]
mod tests;
