//! Peak memory of a process under test, from `/proc`: VmHWM, and its reset
//! (`clear_refs` 5, Linux 4.0+), so a figure covers one request alone and
//! not an earlier spike (the first login's argon2 hash, say).

/// The peak resident set size of `pid` (VmHWM, KiB); 0 when it is gone.
pub fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Set the peak of `pid` back to its current resident size.
pub fn reset_peak_rss(pid: u32) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
        .unwrap_or_else(|e| panic!("resetting the peak RSS of {pid}: {e}"));
}

/// The processes whose parent is `parent` and whose command name starts
/// with `name` (at most 15 characters are kept by the kernel).
pub fn children_named(parent: u32, name: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let Some((head, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let comm = head.split_once('(').map(|(_, c)| c).unwrap_or("");
            let ppid = rest.split_whitespace().nth(1).and_then(|x| x.parse().ok());
            ppid == Some(parent) && name.starts_with(comm) && !comm.is_empty()
        })
        .collect()
}
