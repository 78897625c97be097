//! Reply templates: literal text with `{name}` placeholders, where a name is lower-case ASCII
//! letters, digits and underscores. A brace that does not open or close a placeholder is an
//! error, so a typo such as `{emergency_number` is caught by the check instead of being sent.

use std::collections::BTreeSet;

/// Why a template cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("a '{{' at byte {at} is not closed")]
    Unclosed { at: usize },
    #[error("a '}}' at byte {at} closes nothing")]
    StrayClose { at: usize },
    #[error("placeholder {{{name}}} is not lower-case letters, digits and underscores")]
    BadName { name: String },
}

/// Why a template could not be filled in. Only placeholder names appear, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("placeholder {{{name}}} was not given a value")]
    Missing { name: String },
    #[error("a value was given for {{{name}}}, which the reply does not have")]
    Unknown { name: String },
    #[error("placeholder {{{name}}} was given two values")]
    Duplicate { name: String },
}

/// The placeholder names `template` uses.
pub fn placeholders(template: &str) -> Result<BTreeSet<&str>, TemplateError> {
    let pieces = parse(template)?;
    Ok(pieces
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Placeholder(name) => Some(name),
            Piece::Text(_) => None,
        })
        .collect())
}

/// The template with its placeholders taken out, for checking the wording around them.
pub fn literal_text(template: &str) -> Result<String, TemplateError> {
    let pieces = parse(template)?;
    Ok(pieces
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(text) => text,
            Piece::Placeholder(_) => " ",
        })
        .collect())
}

/// Fills in every placeholder; a value that is missing, unused or given twice is refused.
pub fn render(template: &str, values: &[(&str, &str)]) -> Result<String, RenderError> {
    let pieces = parse(template)?;
    check_values(&pieces, values)?;

    let mut rendered = String::with_capacity(template.len());
    for piece in pieces {
        match piece {
            Piece::Text(text) => rendered.push_str(text),
            Piece::Placeholder(name) => rendered.push_str(value_of(values, name)?),
        }
    }
    Ok(rendered)
}

enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

fn parse(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = template;
    let mut offset = 0;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(TemplateError::StrayClose { at: offset + open });
        }
        let close = rest[open..]
            .find('}')
            .ok_or(TemplateError::Unclosed { at: offset + open })?;
        let name = &rest[open + 1..open + close];
        check_name(name)?;

        pieces.push(Piece::Text(&rest[..open]));
        pieces.push(Piece::Placeholder(name));
        rest = &rest[open + close + 1..];
        offset += open + close + 1;
    }
    pieces.push(Piece::Text(rest));
    Ok(pieces)
}

fn check_name(name: &str) -> Result<(), TemplateError> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(TemplateError::BadName {
            name: name.to_owned(),
        })
    }
}

fn check_values(pieces: &[Piece<'_>], values: &[(&str, &str)]) -> Result<(), RenderError> {
    let used: BTreeSet<&str> = pieces
        .iter()
        .filter_map(|piece| match piece {
            Piece::Placeholder(name) => Some(*name),
            Piece::Text(_) => None,
        })
        .collect();
    let mut given = BTreeSet::new();
    for &(name, _) in values {
        if !used.contains(name) {
            return Err(RenderError::Unknown {
                name: name.to_owned(),
            });
        }
        if !given.insert(name) {
            return Err(RenderError::Duplicate {
                name: name.to_owned(),
            });
        }
    }
    Ok(())
}

fn value_of<'v>(values: &[(&str, &'v str)], name: &str) -> Result<&'v str, RenderError> {
    values
        .iter()
        .find(|(given, _)| *given == name)
        .map(|&(_, value)| value)
        .ok_or_else(|| RenderError::Missing {
            name: name.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_listed_once_each() {
        let names = placeholders("Call {number}, or {number} again, {hours}").unwrap();

        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["hours", "number"]);
    }

    #[test]
    fn a_template_renders_with_every_value_given() {
        let text = render(
            "Open {hours}; call {number}.",
            &[("number", "112"), ("hours", "9-5")],
        );

        assert_eq!(text.unwrap(), "Open 9-5; call 112.");
    }

    #[test]
    fn a_value_is_inserted_as_it_is_even_with_braces() {
        let text = render("Call {number}", &[("number", "{hours}")]);

        assert_eq!(text.unwrap(), "Call {hours}");
    }

    #[test]
    fn a_missing_value_is_refused() {
        let error = render("Call {number}", &[]).unwrap_err();

        assert_eq!(
            error,
            RenderError::Missing {
                name: "number".into()
            }
        );
    }

    #[test]
    fn a_value_for_an_unknown_placeholder_is_refused() {
        let error = render("Hello", &[("name", "Ana")]).unwrap_err();

        assert_eq!(
            error,
            RenderError::Unknown {
                name: "name".into()
            }
        );
    }

    #[test]
    fn a_value_given_twice_is_refused() {
        let error = render("Call {n}", &[("n", "1"), ("n", "2")]).unwrap_err();

        assert_eq!(error, RenderError::Duplicate { name: "n".into() });
    }

    #[test]
    fn stray_and_unclosed_braces_are_template_errors() {
        assert_eq!(
            placeholders("a } b").unwrap_err(),
            TemplateError::StrayClose { at: 2 }
        );
        assert_eq!(
            placeholders("a {b").unwrap_err(),
            TemplateError::Unclosed { at: 2 }
        );
        assert!(matches!(
            placeholders("{Bad Name}"),
            Err(TemplateError::BadName { .. })
        ));
        assert!(matches!(
            placeholders("{}"),
            Err(TemplateError::BadName { .. })
        ));
    }

    #[test]
    fn literal_text_leaves_out_the_placeholder_names() {
        assert_eq!(
            literal_text("If urgent call {emergency_number}.").unwrap(),
            "If urgent call  ."
        );
    }
}
