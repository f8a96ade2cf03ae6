//! Image references with Docker's normalisation rules.
//!
//! `busybox` is `docker.io/library/busybox:latest`; `me/app:1` is `docker.io/me/app:1`;
//! `registry:5000/x` keeps its registry. References are stored fully qualified and shown in the
//! *familiar* form (`busybox:latest`), exactly as the docker CLI and daemon do, because users
//! type both and scripts compare the output.

use std::fmt;

/// The registry of unqualified names.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The legacy name of Docker Hub, normalised to [`DEFAULT_DOMAIN`].
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// The namespace of official images (`busybox` → `library/busybox`).
pub const OFFICIAL_REPO_PREFIX: &str = "library/";
/// The tag of a reference given without one.
pub const DEFAULT_TAG: &str = "latest";
/// Docker's limit on the length of a repository name.
pub const NAME_TOTAL_MAX: usize = 255;
/// Docker's limit on the length of a tag (first character plus 127).
pub const TAG_MAX: usize = 128;

/// A reference that does not follow Docker's grammar, with Docker's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format")]
    Format,
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    Uppercase(String),
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexName(String),
    #[error("repository name must not be more than {NAME_TOTAL_MAX} characters")]
    NameTooLong,
}

/// A parsed, normalised reference: `domain/path[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    pub domain: String,
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    /// Parses a reference the way `docker` does (`ParseNormalizedNamed`).
    pub fn parse_normalized(s: &str) -> Result<Reference, ReferenceError> {
        if crate::is_full_hex_id(s) {
            return Err(ReferenceError::HexName(s.to_owned()));
        }
        let (domain, remainder) = split_domain(s);
        // An `@` or `:` can only appear after the name, so the remote name ends at the first one
        // in the remainder.
        let remote_name = &remainder[..remainder.find(['@', ':']).unwrap_or(remainder.len())];
        if remote_name.to_lowercase() != remote_name {
            return Err(ReferenceError::Uppercase(remote_name.to_owned()));
        }
        parse_full(&format!("{domain}/{remainder}"))
    }

    /// With the default tag when it has neither a tag nor a digest (`TagNameOnly`).
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_owned());
        }
        self
    }

    /// `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// `docker.io/library/busybox:latest` (the stored form).
    pub fn full(&self) -> String {
        let mut s = self.name();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }

    /// `busybox` (the familiar name).
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            self.path.strip_prefix(OFFICIAL_REPO_PREFIX).filter(|p| !p.contains('/')).unwrap_or(&self.path).to_owned()
        } else {
            self.name()
        }
    }

    /// `busybox:latest` (what `docker images` and `Untagged:` show).
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.familiar())
    }
}

/// Splits off the registry: the first component is a domain when it has a `.` or a `:`, is
/// `localhost`, or has upper-case letters; otherwise the name is on Docker Hub.
fn split_domain(name: &str) -> (String, String) {
    let (domain, remainder) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" || first.to_lowercase() != first => {
            (first.to_owned(), rest.to_owned())
        }
        _ => (DEFAULT_DOMAIN.to_owned(), name.to_owned()),
    };
    let domain = if domain == LEGACY_DEFAULT_DOMAIN { DEFAULT_DOMAIN.to_owned() } else { domain };
    let remainder = if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        format!("{OFFICIAL_REPO_PREFIX}{remainder}")
    } else {
        remainder
    };
    (domain, remainder)
}

/// Parses `domain/path[:tag][@digest]` against the grammar.
fn parse_full(s: &str) -> Result<Reference, ReferenceError> {
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => {
            if !is_digest(d) {
                return Err(ReferenceError::Format);
            }
            (r, Some(d.to_owned()))
        }
        None => (s, None),
    };
    // A tag is after the last `:` that follows the last `/` (a `:` before it is a port).
    let last_slash = rest.rfind('/').unwrap_or(0);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => {
            let i = last_slash + i;
            (&rest[..i], Some(rest[i + 1..].to_owned()))
        }
        None => (rest, None),
    };
    if let Some(t) = &tag
        && !is_tag(t)
    {
        return Err(ReferenceError::Format);
    }
    if name.len() > NAME_TOTAL_MAX {
        return Err(ReferenceError::NameTooLong);
    }
    let (domain, path) = name.split_once('/').ok_or(ReferenceError::Format)?;
    if !is_domain(domain) || path.is_empty() || !path.split('/').all(is_path_component) {
        return Err(ReferenceError::Format);
    }
    Ok(Reference { domain: domain.to_owned(), path: path.to_owned(), tag, digest })
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: one `.`, one or two `_`, or any number of `-`.
        let start = i;
        let sep = b[i];
        while i < b.len() && b[i] == sep {
            i += 1;
        }
        let run = i - start;
        let ok = match sep {
            b'.' => run == 1,
            b'_' => run <= 2,
            b'-' => true,
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Host components `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?` joined by `.`, optional `:port`.
fn is_domain(d: &str) -> bool {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (d, None),
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    !host.is_empty()
        && host.split('.').all(|c| {
            let b = c.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
        })
}

/// `[\w][\w.-]{0,127}`
fn is_tag(t: &str) -> bool {
    let b = t.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    !b.is_empty() && b.len() <= TAG_MAX && word(b[0]) && b.iter().all(|x| word(*x) || *x == b'.' || *x == b'-')
}

/// `algorithm:hex` with at least 32 hex characters.
fn is_digest(d: &str) -> bool {
    match d.split_once(':') {
        Some((alg, hex)) => {
            !alg.is_empty()
                && alg.as_bytes()[0].is_ascii_alphabetic()
                && alg.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_+.".contains(&b))
                && hex.len() >= 32
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

/// Go's `path.Match`, which `--filter reference=` patterns use (`*` does not cross `/`).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*', rest)) => (0..=n.len()).take_while(|&i| i == 0 || n[i - 1] != b'/').any(|i| go(rest, &n[i..])),
            Some((b'?', rest)) => n.first().is_some_and(|c| *c != b'/') && go(rest, &n[1..]),
            Some((b'[', rest)) => {
                let Some(close) = rest.iter().position(|c| *c == b']') else { return false };
                let (class, after) = (&rest[..close], &rest[close + 1..]);
                let Some((&c, n_rest)) = n.split_first() else { return false };
                let (negate, class) = match class.split_first() {
                    Some((b'^', cl)) => (true, cl),
                    _ => (false, class),
                };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == b'-' {
                        hit |= class[i] <= c && c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == c;
                        i += 1;
                    }
                }
                hit != negate && go(after, n_rest)
            }
            Some((b'\\', rest)) if !rest.is_empty() => n.first() == Some(&rest[0]) && go(&rest[1..], &n[1..]),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalise_like_dockers() {
        let cases = [
            ("busybox", "docker.io/library/busybox", "busybox"),
            ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
            ("me/app:v1", "docker.io/me/app:v1", "me/app:v1"),
            ("docker.io/library/busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"),
            ("index.docker.io/x", "docker.io/library/x", "x"),
            ("localhost/x:1", "localhost/x:1", "localhost/x:1"),
            ("registry:5000/a/b:c", "registry:5000/a/b:c", "registry:5000/a/b:c"),
            ("quay.io/a/b-c__d.e", "quay.io/a/b-c__d.e", "quay.io/a/b-c__d.e"),
            (
                "x@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "docker.io/library/x@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "x@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
        ];
        for (input, full, familiar) in cases {
            let r = Reference::parse_normalized(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.full(), full, "{input}");
            assert_eq!(r.familiar(), familiar, "{input}");
        }
        assert_eq!(Reference::parse_normalized("busybox").expect("ok").with_default_tag().familiar(), "busybox:latest");
    }

    #[test]
    fn bad_references_get_dockers_messages() {
        let cases = [
            ("Bad:x", "invalid reference format: repository name (library/Bad) must be lowercase"),
            ("a/B", "invalid reference format: repository name (a/B) must be lowercase"),
            ("x:", "invalid reference format"),
            ("x::y", "invalid reference format"),
            ("-x", "invalid reference format"),
            ("x..y", "invalid reference format"),
            ("x___y", "invalid reference format"),
            ("x:-tag", "invalid reference format"),
            ("", "invalid reference format"),
            ("x@sha256:abc", "invalid reference format"),
        ];
        for (input, msg) in cases {
            let err = Reference::parse_normalized(input).expect_err(input);
            assert_eq!(err.to_string(), msg, "{input}");
        }
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(matches!(Reference::parse_normalized(hex), Err(ReferenceError::HexName(_))));
        let long = format!("{}:1", "a".repeat(300));
        assert_eq!(Reference::parse_normalized(&long), Err(ReferenceError::NameTooLong));
    }

    #[test]
    fn globs_match_like_go_path_match() {
        let cases = [
            ("busybox", "busybox", true),
            ("busy*", "busybox", true),
            ("busybox:*", "busybox:latest", true),
            ("*", "me/app", false),
            ("*/*", "me/app", true),
            ("b?sybox", "busybox", true),
            ("[a-c]usybox", "busybox", true),
            ("[^a-c]usybox", "busybox", false),
            ("busybox:1*", "busybox:latest", false),
        ];
        for (p, n, want) in cases {
            assert_eq!(glob_match(p, n), want, "{p} ~ {n}");
        }
    }
}
