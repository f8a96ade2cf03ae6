//! Keeping the daemon's memory small after large transfers.
//!
//! glibc's malloc gives each thread that meets contention its own arena, up to eight per core,
//! and memory freed into an arena mostly stays there. The daemon's transfers (restore, import,
//! image load) run on tokio's blocking threads, which come and go, so successive transfers spread
//! their buffers over many arenas: on the 2-core test VM five restores of a 117 MB volume left
//! the daemon at 41–49 MB resident for good (13 MB before them), and the benchmark suite saw
//! 116 MB after its backup and volume sections. Capping the arenas at one per core keeps it at
//! 16–18 MB after the same restores, with restore and `docker load` times unchanged within the
//! noise (fixing the mmap threshold at 128 KiB instead also kept memory down, but made `docker
//! load` twice as slow: every large buffer was mapped and faulted in afresh).

/// Caps glibc's malloc arenas at one per available core (two at least), see the module docs.
/// Call once, early, before other threads start. Does nothing with other C libraries.
pub fn keep_small() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
        let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets an allocator parameter, with a valid value for it; it is
        // called before other threads allocate.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}
