//! Docker's list filters: a set of `key → values`, the same key OR-ed, different keys AND-ed.
//!
//! Parsed from the wire by the API (`filters={"label":{"a=b":true}}` or `{"label":["a=b"]}`) and
//! matched here, so the meaning of a filter lives with the objects it selects.

use std::collections::{BTreeMap, BTreeSet};

/// A parsed `filters` argument.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    terms: BTreeMap<String, BTreeSet<String>>,
}

/// A filter that cannot be applied, with Docker's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("Invalid filter '{0}'")]
    UnknownKey(String),
    #[error("Invalid filter '{key}=[{value}]'")]
    BadValue { key: String, value: String },
    #[error("invalid filter '{key}={values}': only one value is expected")]
    TooManyValues { key: String, values: String },
    #[error("invalid filter '{0}'")]
    Malformed(String),
}

impl Filters {
    /// An empty set: matches everything.
    pub fn new() -> Filters {
        Filters::default()
    }

    /// Adds one `key=value` term.
    pub fn add(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.terms.entry(key.into()).or_default().insert(value.into());
    }

    /// True when no term is set.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `key` has any value.
    pub fn contains(&self, key: &str) -> bool {
        self.terms.contains_key(key)
    }

    /// The values of `key` (empty when absent).
    pub fn get(&self, key: &str) -> impl Iterator<Item = &str> {
        self.terms.get(key).into_iter().flatten().map(String::as_str)
    }

    /// The keys present.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.terms.keys().map(String::as_str)
    }

    /// Refuses any key outside `allowed`, with Docker's `Invalid filter 'x'`.
    pub fn validate(&self, allowed: &[&str]) -> Result<(), FilterError> {
        match self.terms.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(bad) => Err(FilterError::UnknownKey(bad.clone())),
            None => Ok(()),
        }
    }

    /// The boolean value of `key` (`true`/`1` or `false`/`0`), `None` when absent. Several
    /// different values, or one that is not a boolean, give Docker's `Invalid filter 'k=[v]'`.
    pub fn bool_value(&self, key: &str) -> Result<Option<bool>, FilterError> {
        let Some(values) = self.terms.get(key) else { return Ok(None) };
        let mut result = None;
        for v in values {
            let b = match v.to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(FilterError::BadValue { key: key.to_owned(), value: v.clone() }),
            };
            if result.is_some_and(|r| r != b) {
                return Err(FilterError::BadValue { key: key.to_owned(), value: v.clone() });
            }
            result = Some(b);
        }
        Ok(result)
    }

    /// The single value of `key`; more than one is an error (as Docker's prune `all`).
    pub fn single_value(&self, key: &str) -> Result<Option<&str>, FilterError> {
        match self.terms.get(key) {
            None => Ok(None),
            Some(values) if values.len() == 1 => Ok(values.iter().next().map(String::as_str)),
            Some(values) => Err(FilterError::TooManyValues {
                key: key.to_owned(),
                values: format!("{:?}", values.iter().collect::<Vec<_>>()),
            }),
        }
    }

    /// Whether `labels` satisfy every `key` term (`k` means the label exists, `k=v` that it has
    /// that value). With no such terms, true.
    pub fn match_labels<'a>(&self, key: &str, mut labels: impl FnMut(&str) -> Option<&'a str>) -> bool {
        self.get(key).all(|term| match term.split_once('=') {
            Some((k, v)) => labels(k) == Some(v),
            None => labels(term).is_some(),
        })
    }

    /// Whether `labels` match none of the `key` terms (for `label!`).
    pub fn match_no_labels<'a>(&self, key: &str, mut labels: impl FnMut(&str) -> Option<&'a str>) -> bool {
        self.get(key).all(|term| match term.split_once('=') {
            Some((k, v)) => labels(k) != Some(v),
            None => labels(term).is_none(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn bool_values_follow_docker() {
        let mut f = Filters::new();
        f.add("dangling", "true");
        assert_eq!(f.bool_value("dangling"), Ok(Some(true)));
        assert_eq!(f.bool_value("other"), Ok(None));
        let mut f = Filters::new();
        f.add("dangling", "maybe");
        assert_eq!(f.bool_value("dangling").expect_err("bad").to_string(), "Invalid filter 'dangling=[maybe]'");
        let mut f = Filters::new();
        f.add("dangling", "1");
        f.add("dangling", "0");
        assert!(f.bool_value("dangling").is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let mut f = Filters::new();
        f.add("bogus", "x");
        assert_eq!(f.validate(&["label"]).expect_err("bad").to_string(), "Invalid filter 'bogus'");
    }

    #[test]
    fn labels_match_by_key_or_pair_and_all_terms_must_hold() {
        let labels: HashMap<&str, &str> = [("env", "prod"), ("tier", "db")].into();
        let get = |k: &str| labels.get(k).copied();
        let mut f = Filters::new();
        f.add("label", "env");
        assert!(f.match_labels("label", get));
        f.add("label", "tier=db");
        assert!(f.match_labels("label", get));
        f.add("label", "tier=web");
        assert!(!f.match_labels("label", get));
        let mut not = Filters::new();
        not.add("label!", "env=dev");
        assert!(not.match_no_labels("label!", get));
        not.add("label!", "tier");
        assert!(!not.match_no_labels("label!", get));
    }
}
