//! Which backups `strata volume backups prune` keeps: the guide's `find -mtime +7 -delete`,
//! made safe.
//!
//! Per volume, a backup is kept when it is one of the `keep_last` newest or younger than
//! `keep_within`; the rest go. Unless forced, a volume never loses its last backup: when the
//! rules would delete all of a volume's backups, the newest stays (an old backup is better
//! than none, which is what an age-only rule silently leaves for a volume that stopped being
//! backed up).

use std::collections::BTreeMap;
use std::time::Duration;

/// The rules of one prune.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rules {
    /// Keep the N newest backups of each volume.
    pub keep_last: Option<usize>,
    /// Keep backups younger than this.
    pub keep_within: Option<Duration>,
    /// Allow deleting every backup of a volume.
    pub force: bool,
}

/// A backup as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub volume: String,
    /// Seconds since the epoch.
    pub created: i64,
}

/// The verdict on one backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub id: String,
    pub volume: String,
    pub keep: bool,
    /// Why, for `--dry-run` and the log.
    pub reason: &'static str,
}

/// Decides which backups to keep at time `now` (seconds since the epoch). The result lists
/// every candidate, grouped by volume, newest first.
pub fn decide(candidates: &[Candidate], rules: &Rules, now: i64) -> Vec<Verdict> {
    let mut by_volume: BTreeMap<&str, Vec<&Candidate>> = BTreeMap::new();
    for c in candidates {
        by_volume.entry(&c.volume).or_default().push(c);
    }
    let mut out = Vec::with_capacity(candidates.len());
    for (_, mut list) in by_volume {
        list.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.id.cmp(&a.id)));
        let first = out.len();
        for (i, c) in list.iter().enumerate() {
            let by_count = rules.keep_last.is_some_and(|n| i < n);
            let age = u64::try_from(now.saturating_sub(c.created)).unwrap_or(0);
            let by_age = rules.keep_within.is_some_and(|d| age <= d.as_secs());
            let (keep, reason) = match (by_count, by_age) {
                (true, _) => (true, "within --keep-last"),
                (false, true) => (true, "within --keep-within"),
                (false, false) => (false, "outside the rules"),
            };
            out.push(Verdict { id: c.id.clone(), volume: c.volume.clone(), keep, reason });
        }
        if !rules.force && out[first..].iter().all(|v| !v.keep) {
            out[first].keep = true;
            out[first].reason = "the volume's only remaining backup (use --force to delete it)";
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn c(id: &str, volume: &str, created: i64) -> Candidate {
        Candidate { id: id.into(), volume: volume.into(), created }
    }

    fn kept(v: &[Verdict]) -> Vec<&str> {
        v.iter().filter(|v| v.keep).map(|v| v.id.as_str()).collect()
    }

    #[test]
    fn rules_table() {
        let now = 100 * DAY;
        let all = [
            c("a1", "a", now - 10 * DAY),
            c("a2", "a", now - 5 * DAY),
            c("a3", "a", now - DAY),
            c("b1", "b", now - 30 * DAY),
        ];
        let week = Some(Duration::from_secs(7 * DAY as u64));
        let cases: Vec<(Rules, Vec<&str>)> = vec![
            (Rules { keep_last: Some(1), ..Rules::default() }, vec!["a3", "b1"]),
            (Rules { keep_last: Some(2), ..Rules::default() }, vec!["a3", "a2", "b1"]),
            // b's only backup is older than a week: kept anyway unless forced.
            (Rules { keep_within: week, ..Rules::default() }, vec!["a3", "a2", "b1"]),
            (Rules { keep_within: week, force: true, ..Rules::default() }, vec!["a3", "a2"]),
            (Rules { keep_last: Some(1), keep_within: week, ..Rules::default() }, vec!["a3", "a2", "b1"]),
            (Rules { keep_last: Some(0), ..Rules::default() }, vec!["a3", "b1"]),
            (Rules { keep_last: Some(0), force: true, ..Rules::default() }, vec![]),
        ];
        for (rules, want) in cases {
            assert_eq!(kept(&decide(&all, &rules, now)), want, "{rules:?}");
        }
    }

    #[test]
    fn the_last_backup_is_named_as_the_reason() {
        let v = decide(&[c("x", "v", 0)], &Rules { keep_last: Some(0), ..Rules::default() }, DAY);
        assert!(v[0].keep);
        assert!(v[0].reason.contains("only remaining"), "{}", v[0].reason);
    }
}
