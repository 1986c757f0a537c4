//! Giving back the pages start-up touched, so an idle shim stays small.
//!
//! Most of an idle shim's resident set is file-backed: the pages of its own executable
//! (and of libc when linked dynamically) that were faulted in while parsing arguments,
//! spawning the runtime and so on. The kernel maps up to 16 neighbouring pages per fault
//! ("fault-around"), so even code that ran once stays mapped. These pages are clean
//! copies of the file: dropping our mapping of them (MADV_DONTNEED) loses nothing, a
//! later fault maps them again from the page cache. Only read-only mappings without any
//! anonymous (copy-on-write) page qualify: a relocated RELRO page, for one, is
//! anonymous and must stay. Free heap memory goes back too (malloc_trim).

use std::fs;

/// Drops the page-table entries of every clean, read-only, file-backed mapping, and
/// returns free heap memory (a burst of output to a slow client grows queues) to the
/// kernel.
pub fn trim() {
    // SAFETY: malloc_trim only releases memory malloc does not hand out.
    unsafe { libc::malloc_trim(0) };
    let Ok(smaps) = fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    let mut candidate: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        if let Some((range, rest)) = line.split_once(' ') {
            if let Some((start, end)) = range.split_once('-') {
                if let (Ok(start), Ok(end)) = (
                    usize::from_str_radix(start, 16),
                    usize::from_str_radix(end, 16),
                ) {
                    // `perms offset dev inode path`
                    let mut fields = rest.split_whitespace();
                    let perms = fields.next().unwrap_or_default();
                    let path = fields.nth(3).unwrap_or_default();
                    let read_only_file = perms.starts_with('r')
                        && perms.as_bytes().get(1) == Some(&b'-')
                        && path.starts_with('/');
                    candidate = read_only_file.then_some((start, end));
                    continue;
                }
            }
        }
        if let Some(kb) = line.strip_prefix("Anonymous:") {
            if let Some((start, end)) = candidate.take() {
                if kb.trim() == "0 kB" {
                    // SAFETY: the range is a whole mapping of ours, read-only and backed
                    // by a file with no private modified page, so discarding its page
                    // table entries only causes later faults to re-read the same bytes.
                    unsafe {
                        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED)
                    };
                }
            }
        }
    }
}
