//! Giving back what only start-up needed.
//!
//! Starting touches code all over tern's 60-odd MiB executable — the
//! configuration, migrations, TLS and resolver set-up, every listener —
//! and the kernel maps each touched page with its neighbours (fault-around,
//! 64 KiB at a time). Measured on the embedded default: 26 MiB of the
//! executable resident at idle, of which an idle server goes on using
//! about 6. Some seconds after "ready", those pages are handed back
//! (`MADV_PAGEOUT`): clean file pages, dropped and read again from the
//! page cache or the file if ever needed. The same moment, glibc's malloc
//! returns the free memory of its heaps (`malloc_trim`).

use std::path::Path;
use std::time::Duration;

/// How long after "ready" start-up is taken as over.
const AFTER: Duration = Duration::from_secs(10);

/// Once, `AFTER` from now, on the blocking pool.
pub fn release_after_start() {
    tokio::spawn(async {
        tokio::time::sleep(AFTER).await;
        let _ = tokio::task::spawn_blocking(release).await;
    });
}

#[cfg(target_os = "linux")]
fn release() {
    let (Ok(exe), Ok(maps)) = (
        std::fs::read_link("/proc/self/exe"),
        std::fs::read_to_string("/proc/self/maps"),
    ) else {
        return;
    };
    let mut given = 0usize;
    for (start, end) in read_only_mappings(&maps, &exe) {
        // SAFETY: MADV_PAGEOUT only asks the kernel to reclaim the pages
        // of the range now (madvise(2)); it never changes what the memory
        // holds — a reclaimed page is read back from its file (or swap) on
        // the next access, as after any reclaim under memory pressure. The
        // range is a whole mapping of this process, page-aligned, as the
        // kernel listed it in /proc/self/maps, and nothing unmaps the
        // executable while the process runs. Dirty private pages (the
        // relocated data) cannot be dropped and stay.
        let r =
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT) };
        if r == 0 {
            given += end - start;
        }
    }
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim(3) only gives free heap memory back to the
    // system; it takes no pointer and touches no allocation in use.
    unsafe {
        libc::malloc_trim(0);
    }
    tracing::debug!(
        mapped_kib = given / 1024,
        "start-up pages of the executable handed back"
    );
}

#[cfg(not(target_os = "linux"))]
fn release() {}

/// The mappings of `exe` that are not writable, from a `/proc/PID/maps`
/// text: `(start, end)` addresses.
fn read_only_mappings(maps: &str, exe: &Path) -> Vec<(usize, usize)> {
    let Some(exe) = exe.to_str() else {
        return Vec::new();
    };
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let range = fields.next()?;
            let perms = fields.next()?;
            let path = fields.nth(3)?;
            if path != exe || fields.next().is_some() || perms.as_bytes().get(1) != Some(&b'-') {
                return None;
            }
            let (a, b) = range.split_once('-')?;
            let start = usize::from_str_radix(a, 16).ok()?;
            let end = usize::from_str_radix(b, 16).ok()?;
            (end > start).then_some((start, end))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
55d0a0000000-55d0a0be9000 r--p 00000000 fd:01 1234 /usr/bin/tern
55d0a0be9000-55d0a2dfc000 r-xp 00be9000 fd:01 1234 /usr/bin/tern
55d0a2dfc000-55d0a3053000 r--p 02dfc000 fd:01 1234 /usr/bin/tern
55d0a3053000-55d0a305e000 rw-p 03053000 fd:01 1234 /usr/bin/tern
55d0a4000000-55d0a4400000 rw-p 00000000 00:00 0 [heap]
7f0000000000-7f0000200000 r-xp 00000000 fd:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000400000-7f0000500000 r-xp 00000000 fd:01 1234 /usr/bin/tern (deleted)
";

    #[test]
    fn only_the_read_only_mappings_of_the_executable_itself() {
        let got = read_only_mappings(MAPS, Path::new("/usr/bin/tern"));
        assert_eq!(
            got,
            vec![
                (0x55d0a0000000, 0x55d0a0be9000),
                (0x55d0a0be9000, 0x55d0a2dfc000),
                (0x55d0a2dfc000, 0x55d0a3053000),
            ]
        );
        assert!(read_only_mappings(MAPS, Path::new("/usr/bin/other")).is_empty());
        assert!(read_only_mappings("garbage\n\n1-2", Path::new("/usr/bin/tern")).is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn handing_back_the_pages_leaves_the_process_working() {
        release();
        // Code and read-only data still read right after their pages went.
        assert_eq!(format!("{:x}", 0xdead_beef_u32), "deadbeef");
        assert!(!read_only_mappings(MAPS, Path::new("/usr/bin/tern")).is_empty());
    }
}
