//! Which volumes a list or a prune selects: the semantics of Docker's volume filters.
//!
//! The wire format and the allowed keys are the API's business; this module holds what each
//! filter means, so the same rule applies to every caller: drivers and names are alternatives
//! (OR), everything else must hold together (AND); `name` is an unanchored regular expression
//! (or the exact name); `label` terms all must match; `label!` excludes a volume only when *all*
//! of its terms match (Docker's rule).

use std::collections::BTreeMap;

use regex::Regex;

/// The label Docker (≥ 28, all API versions) puts on volumes created without a name.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// One `label` term: `key` (the label exists) or `key=value` (it has that value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelTerm {
    pub key: String,
    pub value: Option<String>,
}

impl LabelTerm {
    /// Parses `k` or `k=v` (the first `=` splits).
    pub fn parse(term: &str) -> LabelTerm {
        match term.split_once('=') {
            Some((k, v)) => LabelTerm { key: k.to_owned(), value: Some(v.to_owned()) },
            None => LabelTerm { key: term.to_owned(), value: None },
        }
    }

    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match (labels.get(&self.key), &self.value) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(have), Some(want)) => have == want,
        }
    }
}

/// Whether every term matches (true when there are none).
fn all_match(terms: &[LabelTerm], labels: &BTreeMap<String, String>) -> bool {
    terms.iter().all(|t| t.matches(labels))
}

/// A `name` term: the exact name, or an unanchored regular expression. A term that is not a
/// valid expression matches only the exact name (Docker's rule: such a filter selects nothing
/// rather than failing).
#[derive(Debug, Clone)]
pub struct NamePattern {
    text: String,
    regex: Option<Regex>,
}

impl NamePattern {
    pub fn new(text: &str) -> NamePattern {
        NamePattern { text: text.to_owned(), regex: Regex::new(text).ok() }
    }

    pub fn matches(&self, name: &str) -> bool {
        self.text == name || self.regex.as_ref().is_some_and(|r| r.is_match(name))
    }
}

/// What `GET /volumes` selects.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// `dangling=true`: only volumes no container references; `false`: only referenced ones.
    pub dangling: Option<bool>,
    /// Any of these drivers (exact).
    pub drivers: Vec<String>,
    /// Any of these names.
    pub names: Vec<NamePattern>,
    /// All of these labels.
    pub labels: Vec<LabelTerm>,
}

impl ListFilter {
    /// Whether a volume with these facts is selected.
    pub fn matches(&self, name: &str, driver: &str, labels: &BTreeMap<String, String>, ref_count: u64) -> bool {
        if let Some(dangling) = self.dangling
            && dangling != (ref_count == 0)
        {
            return false;
        }
        (self.drivers.is_empty() || self.drivers.iter().any(|d| d == driver))
            && (self.names.is_empty() || self.names.iter().any(|p| p.matches(name)))
            && all_match(&self.labels, labels)
    }
}

/// What `POST /volumes/prune` selects, besides the fixed rule (local driver, unreferenced, no
/// options).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneFilter {
    /// `all=true`: named volumes too. Otherwise only anonymous ones (API ≥ 1.42).
    pub all: bool,
    /// All of these labels.
    pub labels: Vec<LabelTerm>,
    /// Excluded when all of these match.
    pub not_labels: Vec<LabelTerm>,
}

impl PruneFilter {
    /// Whether a volume with these labels is selected.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        if !self.all && !labels.contains_key(ANONYMOUS_LABEL) {
            return false;
        }
        if !all_match(&self.labels, labels) {
            return false;
        }
        self.not_labels.is_empty() || !all_match(&self.not_labels, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn list_filters_combine_like_docker() {
        let l = labels(&[("env", "prod"), ("tier", "db")]);
        let f = |dangling, drivers: &[&str], names: &[&str], label_terms: &[&str]| ListFilter {
            dangling,
            drivers: drivers.iter().map(|s| (*s).to_owned()).collect(),
            names: names.iter().map(|s| NamePattern::new(s)).collect(),
            labels: label_terms.iter().map(|s| LabelTerm::parse(s)).collect(),
        };
        let cases: Vec<(ListFilter, &str, u64, bool)> = vec![
            (f(None, &[], &[], &[]), "rv1", 0, true),
            (f(Some(true), &[], &[], &[]), "rv1", 0, true),
            (f(Some(true), &[], &[], &[]), "rv1", 2, false),
            (f(Some(false), &[], &[], &[]), "rv1", 2, true),
            (f(None, &["local"], &[], &[]), "rv1", 0, true),
            (f(None, &["other", "local"], &[], &[]), "rv1", 0, true),
            (f(None, &["other"], &[], &[]), "rv1", 0, false),
            (f(None, &[], &["rv"], &[]), "rv1", 0, true),
            (f(None, &[], &["^rv[0-9]$"], &[]), "rv1", 0, true),
            (f(None, &[], &["^rv[0-9]$"], &[]), "xrv1", 0, false),
            (f(None, &[], &["nomatch", "v1"], &[]), "rv1", 0, true),
            (f(None, &[], &[], &["env"]), "rv1", 0, true),
            (f(None, &[], &[], &["env=prod", "tier=db"]), "rv1", 0, true),
            (f(None, &[], &[], &["env=prod", "tier=web"]), "rv1", 0, false),
            (f(None, &[], &[], &["missing"]), "rv1", 0, false),
        ];
        for (filter, name, refs, want) in cases {
            assert_eq!(filter.matches(name, "local", &l, refs), want, "{filter:?} {name} refs={refs}");
        }
    }

    #[test]
    fn prune_filters_keep_named_volumes_unless_all() {
        let anon = labels(&[(ANONYMOUS_LABEL, ""), ("keep", "yes")]);
        let named = labels(&[("env", "dev")]);
        let p = |all, l: &[&str], nl: &[&str]| PruneFilter {
            all,
            labels: l.iter().map(|s| LabelTerm::parse(s)).collect(),
            not_labels: nl.iter().map(|s| LabelTerm::parse(s)).collect(),
        };
        let cases: Vec<(PruneFilter, &BTreeMap<String, String>, bool)> = vec![
            (p(false, &[], &[]), &anon, true),
            (p(false, &[], &[]), &named, false),
            (p(true, &[], &[]), &named, true),
            (p(true, &["env=dev"], &[]), &named, true),
            (p(true, &["env=prod"], &[]), &named, false),
            (p(false, &[], &["keep"]), &anon, false),
            (p(false, &[], &["keep", "other"]), &anon, true),
            (p(true, &[], &["keep=no"]), &anon, true),
        ];
        for (filter, l, want) in cases {
            assert_eq!(filter.matches(l), want, "{filter:?} {l:?}");
        }
    }

    #[test]
    fn bad_name_patterns_match_only_the_exact_name() {
        assert!(!NamePattern::new("(").matches("a(b"));
        assert!(NamePattern::new("(").matches("("));
    }
}
