//! The `Checker` every section validates through: it collects errors with
//! their dotted key and line, so that one run reports them all. A section
//! never stops at its first error and never panics on a bad value: it
//! records the error and carries on with the default.

use toml::Spanned;

use super::errors::ConfigError;

/// The 1-based line of byte `offset` in `src`.
pub(super) fn line_of(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

pub(super) struct Checker<'a> {
    pub(super) src: &'a str,
    pub(super) errors: Vec<ConfigError>,
}

impl Checker<'_> {
    pub(super) fn err_at<T>(&mut self, key: &str, at: &Spanned<T>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            key: key.to_string(),
            line: Some(line_of(self.src, at.span().start)),
            message: message.into(),
        });
    }

    pub(super) fn err(&mut self, key: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            key: key.to_string(),
            line: None,
            message: message.into(),
        });
    }

    /// The value, which must be greater than zero, or `default` when absent.
    pub(super) fn positive<T: Copy + PartialOrd + Default>(
        &mut self,
        key: &str,
        v: &Option<Spanned<T>>,
        default: T,
    ) -> T {
        match v {
            Some(s) if *s.get_ref() <= T::default() => {
                self.err_at(key, s, "must be greater than zero");
                default
            }
            Some(s) => *s.get_ref(),
            None => default,
        }
    }

    /// The value (any value of its type is valid), or `default`.
    pub(super) fn any<T: Copy>(&self, v: &Option<Spanned<T>>, default: T) -> T {
        v.as_ref().map(|s| *s.get_ref()).unwrap_or(default)
    }
}
