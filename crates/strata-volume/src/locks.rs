//! Per-name locks: operations on one volume are serialised, operations on different volumes run
//! in parallel, and no lock is held across the whole service.
//!
//! Creating, removing, mounting and unmounting a volume each span file-system work and one or
//! two database transactions; the database alone cannot keep two of them on the same name from
//! interleaving (a remove deleting the directory a create has just found). A name lock makes each
//! such operation atomic with respect to the others on that name, while the store's own mutex is
//! only ever held for single short transactions. Several names are taken all at once or not at
//! all, so two callers locking overlapping sets cannot deadlock.

use std::collections::HashSet;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long an operation waits for the lock of a name before giving up with "busy". Long
/// enough for a slow network mount on the same volume to finish.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// The set of names currently locked.
#[derive(Debug, Default)]
pub struct NameLocks {
    held: Mutex<HashSet<String>>,
    released: Condvar,
}

/// Holds the locks of some names until dropped.
#[derive(Debug)]
pub struct NameGuard<'a> {
    locks: &'a NameLocks,
    names: Vec<String>,
}

impl NameGuard<'_> {
    /// The names this guard holds.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

impl NameLocks {
    fn held(&self) -> MutexGuard<'_, HashSet<String>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks all of `names` at once, waiting up to `timeout` until none is held by anyone else.
    /// `None` on timeout.
    pub fn lock_all(&self, names: &[String], timeout: Duration) -> Option<NameGuard<'_>> {
        let deadline = Instant::now() + timeout;
        let mut held = self.held();
        loop {
            if names.iter().all(|n| !held.contains(n)) {
                let mut unique = Vec::with_capacity(names.len());
                for n in names {
                    if held.insert(n.clone()) {
                        unique.push(n.clone());
                    }
                }
                return Some(NameGuard { locks: self, names: unique });
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            held = match self.released.wait_timeout(held, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Locks one name.
    pub fn lock(&self, name: &str, timeout: Duration) -> Option<NameGuard<'_>> {
        self.lock_all(&[name.to_owned()], timeout)
    }

    /// Locks those of `names` that are free right now, without waiting (prune skips volumes
    /// that are busy).
    pub fn try_lock_free(&self, names: impl IntoIterator<Item = String>) -> NameGuard<'_> {
        let mut held = self.held();
        let taken = names.into_iter().filter(|n| held.insert(n.clone())).collect();
        NameGuard { locks: self, names: taken }
    }
}

impl Drop for NameGuard<'_> {
    fn drop(&mut self) {
        if self.names.is_empty() {
            return;
        }
        let mut held = self.locks.held();
        for n in &self.names {
            held.remove(n);
        }
        drop(held);
        self.locks.released.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_held_name_blocks_until_released() {
        let locks = Arc::new(NameLocks::default());
        let guard = locks.lock("a", LOCK_TIMEOUT).expect("free");
        assert!(locks.lock("a", Duration::from_millis(20)).is_none(), "held");
        assert!(locks.lock("b", Duration::from_millis(20)).is_some(), "other names are free");
        let l2 = locks.clone();
        let waiter = std::thread::spawn(move || l2.lock("a", Duration::from_secs(5)).is_some());
        std::thread::sleep(Duration::from_millis(30));
        drop(guard);
        assert!(waiter.join().expect("join"));
    }

    #[test]
    fn sets_are_taken_whole_and_overlapping_sets_do_not_deadlock() {
        let locks = Arc::new(NameLocks::default());
        let mut threads = Vec::new();
        for i in 0..8 {
            let locks = locks.clone();
            threads.push(std::thread::spawn(move || {
                let set = if i % 2 == 0 { names(&["x", "y"]) } else { names(&["y", "x"]) };
                for _ in 0..200 {
                    let g = locks.lock_all(&set, Duration::from_secs(10)).expect("no deadlock");
                    assert_eq!(g.names().len(), 2);
                }
            }));
        }
        for t in threads {
            t.join().expect("join");
        }
        assert!(locks.held().is_empty());
    }

    #[test]
    fn try_lock_free_skips_busy_names() {
        let locks = NameLocks::default();
        let _a = locks.lock("a", LOCK_TIMEOUT).expect("free");
        let g = locks.try_lock_free(names(&["a", "b", "c"]));
        assert_eq!(g.names(), names(&["b", "c"]).as_slice());
    }
}
