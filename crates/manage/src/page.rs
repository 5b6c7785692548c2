//! Lists in pages: at most `limit` items after an opaque `cursor`, with
//! the cursor of the next page when there is one. Items are ordered by a
//! key (a name); the cursor is that key of the last item sent, encoded, so
//! a page stays right when items are added or removed meanwhile.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{Error, Result};

/// The most items one page holds.
pub const MAX_LIMIT: usize = 1000;
const DEFAULT_LIMIT: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl PageRequest {
    /// Everything, for callers that list in full (the CLI).
    pub fn all() -> PageRequest {
        PageRequest {
            limit: Some(usize::MAX),
            cursor: None,
        }
    }

    fn after(&self) -> Result<Option<String>> {
        let Some(c) = &self.cursor else {
            return Ok(None);
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(c)
            .map_err(|_| Error::invalid("cursor", "not a cursor this server gave"))?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| Error::invalid("cursor", "not a cursor this server gave"))
    }

    fn limit(&self) -> Result<usize> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(0) => Err(Error::invalid("limit", "must be at least 1")),
            Some(usize::MAX) => Ok(usize::MAX),
            Some(n) if n > MAX_LIMIT => Err(Error::invalid(
                "limit",
                format!("at most {MAX_LIMIT} items per page"),
            )),
            Some(n) => Ok(n),
        }
    }

    /// One page of `items`, ordered by `key`.
    pub fn page<T>(&self, mut items: Vec<T>, key: impl Fn(&T) -> String) -> Result<Page<T>> {
        let (after, limit) = (self.after()?, self.limit()?);
        items.sort_by_key(|t| key(t));
        let start = match &after {
            Some(a) => items.partition_point(|t| key(t) <= *a),
            None => 0,
        };
        let mut items: Vec<T> = items.into_iter().skip(start).collect();
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|t| URL_SAFE_NO_PAD.encode(key(t)))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_their_cursor_to_the_end() {
        let names: Vec<String> = (0..25).map(|i| format!("n{i:02}")).collect();
        let mut req = PageRequest {
            limit: Some(10),
            cursor: None,
        };
        let mut seen = Vec::new();
        for _ in 0..5 {
            let p = req.page(names.clone(), |s| s.clone()).unwrap();
            seen.extend(p.items);
            match p.next_cursor {
                Some(c) => req.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, names);
        let bad = PageRequest {
            limit: Some(MAX_LIMIT + 1),
            cursor: None,
        };
        assert_eq!(
            bad.page(names.clone(), |s| s.clone())
                .unwrap_err()
                .field
                .as_deref(),
            Some("limit")
        );
        let bad = PageRequest {
            limit: None,
            cursor: Some("!!".into()),
        };
        assert_eq!(
            bad.page(names, |s| s.clone()).unwrap_err().field.as_deref(),
            Some("cursor")
        );
    }
}
