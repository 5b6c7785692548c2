//! What every page shows around its content, and the small formatting
//! helpers the templates use.

use axum::http::{HeaderValue, header};
use axum::response::Response;

/// The frame of a page: title, who is signed in, the navigation, the
/// token its forms carry, and a notice or error from the last action.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    pub title: String,
    /// The signed-in account; empty on the login pages.
    pub user: String,
    pub admin: bool,
    pub csrf: String,
    /// Which navigation entry is current.
    pub section: &'static str,
    pub notice: String,
    pub error: String,
}

impl Chrome {
    pub fn public(title: &str) -> Chrome {
        Chrome {
            title: title.to_string(),
            ..Chrome::default()
        }
    }

    pub fn notice(mut self, text: impl Into<String>) -> Chrome {
        self.notice = text.into();
        self
    }

    pub fn error(mut self, text: impl Into<String>) -> Chrome {
        self.error = text.into();
        self
    }

    /// `aria-current` for the navigation entry `name`.
    pub fn current(&self, name: &str) -> &'static str {
        if self.section == name {
            "page"
        } else {
            "false"
        }
    }
}

/// `2026-11-30 12:34 UTC`.
pub fn when(t: i64) -> String {
    let s = tern_common::time::iso8601(t);
    // 2026-11-30T12:34:56Z → 2026-11-30 12:34 UTC
    match (s.get(..10), s.get(11..16)) {
        (Some(d), Some(h)) => format!("{d} {h} UTC"),
        _ => s,
    }
}

/// Bytes for people: `1.5 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A duration for people: `3 h 5 min`.
pub fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A quota and its use: `12.0 MiB of 1.0 GiB (1 %)`, or unlimited.
pub fn usage(used: u64, quota: u64) -> String {
    if quota == 0 {
        format!("{} (no quota)", bytes(used))
    } else {
        let pct = (used as f64 * 100.0 / quota as f64).round();
        format!("{} of {} ({pct} %)", bytes(used), bytes(quota))
    }
}

/// Headers on every page: a Content Security Policy that allows no
/// script at all and forms only to this site (a second wall behind the
/// templates' escaping), and no caching of pages.
pub async fn page_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    if h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
    {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // Browsers then send `Origin` on our own forms (with `no-referrer`
    // they send `null`), and still nothing to other sites.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_people_write_them() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(age(59), "59 s");
        assert_eq!(age(3700), "1 h 1 min");
        assert_eq!(usage(0, 0), "0 B (no quota)");
        assert_eq!(
            usage(512 * 1024, 1024 * 1024),
            "512.0 KiB of 1.0 MiB (50 %)"
        );
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
    }
}
