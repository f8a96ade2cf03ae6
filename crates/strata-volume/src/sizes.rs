//! Remembered sizes of volumes without a quota, so `system df` does not walk every volume every
//! time.
//!
//! A volume's `_data` changes when something writes into it. Through strata that is a holder
//! that has it mounted (a running container: between [`Volumes::mount_for`] and
//! [`Volumes::unmount_for`]) or a copy into a stopped container's view of it, which calls
//! [`Volumes::note_written`]. So a size measured while the volume has no mounted holder stays
//! true until one of those happens: each of them drops the remembered size and bumps the
//! volume's epoch, and a walk whose epoch changed while it ran is not remembered. Volumes in use
//! are walked on every request. Writes by host processes straight into `_data` (outside
//! strata) are not seen until the next use of the volume or a daemon restart; size-limited
//! volumes never need this (their quota counter is read instead).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::service::Volumes;

/// The per-volume state behind the remembered sizes.
#[derive(Debug, Default)]
pub(crate) struct SizeCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Holders that have each volume mounted.
    in_use: HashMap<String, std::collections::HashSet<String>>,
    epochs: HashMap<String, u64>,
    sizes: HashMap<String, u64>,
}

impl SizeCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets the size of `name`; with a holder, records that it mounted (`true`) or
    /// released (`false`) the volume.
    pub(crate) fn touch(&self, name: &str, holder: Option<(&str, bool)>) {
        let mut g = self.lock();
        match holder {
            Some((h, true)) => {
                g.in_use.entry(name.to_owned()).or_default().insert(h.to_owned());
            }
            Some((h, false)) => {
                if let Some(set) = g.in_use.get_mut(name) {
                    set.remove(h);
                    if set.is_empty() {
                        g.in_use.remove(name);
                    }
                }
            }
            None => {}
        }
        *g.epochs.entry(name.to_owned()).or_default() += 1;
        g.sizes.remove(name);
    }

    /// Forgets everything about a removed volume.
    pub(crate) fn forget(&self, name: &str) {
        let mut g = self.lock();
        g.sizes.remove(name);
        g.in_use.remove(name);
        *g.epochs.entry(name.to_owned()).or_default() += 1;
    }

    /// The remembered size, or the epoch to hand back to [`SizeCache::keep`] after measuring.
    pub(crate) fn get(&self, name: &str) -> Result<u64, u64> {
        let g = self.lock();
        match g.sizes.get(name) {
            Some(s) => Ok(*s),
            None => Err(g.epochs.get(name).copied().unwrap_or(0)),
        }
    }

    /// Remembers a size measured from `epoch`, unless the volume was used or written since, or
    /// is in use now.
    pub(crate) fn keep(&self, name: &str, epoch: u64, size: u64) {
        let mut g = self.lock();
        if !g.in_use.contains_key(name) && g.epochs.get(name).copied().unwrap_or(0) == epoch {
            g.sizes.insert(name.to_owned(), size);
        }
    }
}

impl Volumes {
    /// Tells the size cache that `name`'s data was written outside a mounted holder (a copy into
    /// a stopped container's view of the volume).
    pub fn note_written(&self, name: &str) {
        self.sizes.touch(name, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_kept_only_while_nothing_can_change_them() {
        let c = SizeCache::default();
        let e = c.get("v").expect_err("nothing yet");
        c.keep("v", e, 10);
        assert_eq!(c.get("v"), Ok(10));
        // In use: dropped and not kept.
        c.touch("v", Some(("c1", true)));
        let e = c.get("v").expect_err("dropped on use");
        c.keep("v", e, 20);
        assert!(c.get("v").is_err());
        c.touch("v", Some(("c1", false)));
        // A walk that raced with a write is not kept.
        let e = c.get("v").expect_err("dropped on release");
        c.touch("v", None);
        c.keep("v", e, 30);
        assert!(c.get("v").is_err());
        let e = c.get("v").expect_err("still none");
        c.keep("v", e, 40);
        assert_eq!(c.get("v"), Ok(40));
        c.forget("v");
        assert!(c.get("v").is_err());
    }
}
