//! Running one blocking call per item on a few threads: the volume service and the layer store
//! measure, move and remove many directories at once (disk usage, prune), and a walk of one
//! directory is mostly waiting on the filesystem, so a handful of threads overlaps those waits.
//! It lives here, beside [`crate::du`], because both storage crates need it.

/// Runs `f` on every item, on up to `workers` threads (on the calling thread when there are
/// fewer than `min_parallel` items): one result per item, in the items' order. A call of `f`
/// that panics gives `None` for its item only; every other item still gets its own result in
/// its own place (callers zip results with items, so one panic must neither drop nor shift the
/// others).
pub fn map<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    min_parallel: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<Option<R>> {
    let one = |item: &T| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item))).ok();
    if items.len() < min_parallel.max(2) || workers < 2 {
        return items.iter().map(one).collect();
    }
    let chunk = items.len().div_ceil(workers);
    std::thread::scope(|s| {
        let handles: Vec<_> =
            items.chunks(chunk).map(|c| (c.len(), s.spawn(|| c.iter().map(one).collect::<Vec<_>>()))).collect();
        // Each item's panic is caught above; should a worker die anyway, its items get `None`.
        handles.into_iter().flat_map(|(n, h)| h.join().unwrap_or_else(|_| (0..n).map(|_| None).collect())).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: usize = 64;

    #[test]
    fn one_result_per_item_in_order() {
        for n in [0, 1, MIN - 1, MIN, 1000] {
            let items: Vec<usize> = (0..n).collect();
            let out = map(&items, 4, MIN, |i| i * 2);
            assert_eq!(out, items.iter().map(|i| Some(i * 2)).collect::<Vec<_>>(), "n={n}");
        }
    }

    #[test]
    fn a_panicking_item_loses_only_its_own_result() {
        // Below the threshold (on the calling thread) and above it (on workers), with panics in
        // the first, a middle and the last chunk: every other item keeps its result and place.
        for n in [10, MIN * 4 + 3] {
            let items: Vec<usize> = (0..n).collect();
            let bad = [0, n / 2, n - 1];
            let out = map(&items, 4, MIN, |i| {
                if bad.contains(i) {
                    panic!("item {i} fails on purpose");
                }
                i + 1
            });
            assert_eq!(out.len(), n, "one result per item");
            for (i, r) in out.iter().enumerate() {
                if bad.contains(&i) {
                    assert_eq!(*r, None, "item {i}");
                } else {
                    assert_eq!(*r, Some(i + 1), "item {i}");
                }
            }
        }
    }
}
