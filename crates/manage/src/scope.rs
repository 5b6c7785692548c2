//! What a caller may see and change: everything (`admin`: the CLI, an
//! admin token) or one domain (`domain:example.org`: a domain token).

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Admin,
    /// One domain, normalised.
    Domain(String),
}

impl Scope {
    /// `admin` or `domain:DOMAIN` (the domain is normalised).
    pub fn parse(s: &str) -> Result<Scope> {
        if s == "admin" {
            return Ok(Scope::Admin);
        }
        let Some(d) = s.strip_prefix("domain:") else {
            return Err(Error::invalid(
                "scope",
                format!("`{s}` is not a scope: admin or domain:DOMAIN"),
            ));
        };
        let d =
            tern_common::normalize_domain(d).map_err(|e| Error::invalid("scope", e.to_string()))?;
        Ok(Scope::Domain(d))
    }

    pub fn name(&self) -> String {
        match self {
            Scope::Admin => "admin".into(),
            Scope::Domain(d) => format!("domain:{d}"),
        }
    }

    pub fn covers(&self, domain: &str) -> bool {
        match self {
            Scope::Admin => true,
            Scope::Domain(d) => d.eq_ignore_ascii_case(domain),
        }
    }

    /// Refused unless the scope covers `domain`.
    pub fn check(&self, domain: &str) -> Result<()> {
        if self.covers(domain) {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "this token's scope ({}) does not cover {domain}",
                self.name()
            )))
        }
    }

    /// Refused unless the scope is `admin` (server-wide operations).
    pub fn admin(&self) -> Result<()> {
        match self {
            Scope::Admin => Ok(()),
            Scope::Domain(_) => Err(Error::forbidden(format!(
                "this needs an admin token; this one's scope is {}",
                self.name()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_cover() {
        assert_eq!(Scope::parse("admin"), Ok(Scope::Admin));
        let d = Scope::parse("domain:Example.ORG").unwrap();
        assert_eq!(d, Scope::Domain("example.org".into()));
        assert!(d.covers("example.org"));
        assert!(!d.covers("example.com"));
        assert!(d.check("example.com").is_err());
        assert!(d.admin().is_err());
        assert!(Scope::Admin.covers("anything.test"));
        let e = Scope::parse("root").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("scope"));
    }
}
