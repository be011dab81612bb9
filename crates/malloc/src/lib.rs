//! glibc's malloc, told how a server uses memory. Out of the box it keeps what a morning rush
//! used: its threshold for giving large buffers a mapping of their own rises with the first
//! large free (so Argon2's 19 MiB buffers and big responses end up in the heap), each thread
//! may get an arena of its own, and freed memory in the middle of a heap stays resident. After
//! 1,000 simultaneous sign-ins that was 70–100 MiB for good, growing with every rush
//! (docs/benchmarks.md). Setting the environment (`MALLOC_MMAP_THRESHOLD_`, `GLIBC_TUNABLES`)
//! would work too, but every operator would have to know it.
//!
//! On other C libraries (musl) and other systems these are no-ops.

/// Allocations this large or larger get a mapping of their own, returned when freed. Fixing the
/// value also turns off glibc's raising of it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

/// Sets the thresholds and caps the arenas at two per core. Call first thing in `main`, before
/// other threads exist.
#[allow(unsafe_code)]
pub fn configure() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let arenas = libc::c_int::try_from(2 * cores).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only changes allocator parameters; it is documented as safe to call
        // at any time, and here no other thread runs yet. Failure (return 0) leaves glibc's
        // defaults, which work, only less frugally.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD);
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}

/// Hands the free memory of every arena back to the system (also free pages in the middle of a
/// heap). For quiet moments, such as the end of a rush: it walks the heaps, under their locks.
#[allow(unsafe_code)]
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes the arenas' own locks and only returns unused pages; it does
    // not touch live allocations.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    /// After a burst of allocations is freed, giving back lowers the resident memory (read
    /// from /proc). Runs on glibc Linux only, where it means something.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn freed_memory_goes_back_to_the_system() {
        fn rss_kib() -> u64 {
            let status = std::fs::read_to_string("/proc/self/status").unwrap();
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap()
        }
        super::configure();
        // Many small allocations (below the mapping threshold), touched, then freed.
        let held: Vec<Vec<u8>> = (0..20_000).map(|i| vec![(i % 251) as u8; 4000]).collect();
        // One allocation after them keeps the heap's top in place, so freeing alone cannot
        // shrink the heap from the end: only giving back returns the pages below it.
        let pin = Box::new([1u8; 64]);
        let full = rss_kib();
        drop(held);
        super::give_back();
        let after = rss_kib();
        assert_eq!(pin[0], 1);
        assert!(
            after + 40_000 < full,
            "about 80 MB freed: {full} KiB before, {after} KiB after giving back"
        );
    }
}
