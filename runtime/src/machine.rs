//! What the machine gives a run: its memory, or its control group's limit when lower, so
//! that a run without `--memory-limit` is still bounded (Linux; elsewhere unknown).

use std::path::Path;

/// The share of the machine's memory a run may take when the pipeline and the command line
/// name no limit: room for the rest of the machine (and the allocator's slack).
pub const DEFAULT_MEMORY_SHARE: f64 = 0.75;

/// Limits at or above this are a control group's way of saying "none" (cgroup v1 writes
/// `9223372036854771712`).
const UNLIMITED: u64 = 1 << 60;

/// The memory this process can have: the machine's RAM (`MemTotal`), or its control
/// group's limit (cgroup v2 `memory.max`, v1 `memory.limit_in_bytes`) when that is lower.
/// `None` when neither can be read.
pub fn memory_bytes() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_total(&text));
    let group = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|text| cgroup_limit(&text, Path::new("/sys/fs/cgroup")));
    match (total, group) {
        (Some(total), Some(group)) => Some(total.min(group)),
        (total, group) => total.or(group),
    }
}

/// A run's memory limit when none is named: [`DEFAULT_MEMORY_SHARE`] of [`memory_bytes`].
pub fn default_memory_limit() -> Option<u64> {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    memory_bytes().map(|bytes| (bytes as f64 * DEFAULT_MEMORY_SHARE) as u64)
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The memory limit of the control group named in `proc_cgroup` (`/proc/self/cgroup`),
/// read under `root`: v2's unified hierarchy (`0::/path`) first, then v1's memory
/// controller (`N:memory:/path`); each at the group's own path, then at the root (inside a
/// container the group's path is often not mounted, its limit is at the root).
fn cgroup_limit(proc_cgroup: &str, root: &Path) -> Option<u64> {
    let mut candidates = Vec::new();
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let path = path.trim_start_matches('/');
        if controllers.is_empty() {
            candidates.push(root.join(path).join("memory.max"));
            candidates.push(root.join("memory.max"));
        } else if controllers.split(',').any(|c| c == "memory") {
            candidates.push(root.join("memory").join(path).join("memory.limit_in_bytes"));
            candidates.push(root.join("memory/memory.limit_in_bytes"));
        }
    }
    candidates
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .filter_map(|text| text.trim().parse::<u64>().ok())
        .filter(|&bytes| bytes < UNLIMITED)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_total_is_read_in_bytes() {
        let meminfo = "MemTotal:       24683784 kB\nMemFree:        20521852 kB\n";
        assert_eq!(mem_total(meminfo), Some(24_683_784 * 1024));
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
    }

    #[test]
    fn a_control_group_limit_is_found_for_either_version() {
        let root = tempfile::tempdir().expect("temp dir");
        let v2 = root.path().join("user.slice/run.scope");
        std::fs::create_dir_all(&v2).expect("writable");
        std::fs::write(v2.join("memory.max"), "2147483648\n").expect("writable");
        assert_eq!(
            cgroup_limit("0::/user.slice/run.scope\n", root.path()),
            Some(2 << 30)
        );

        let v1 = root.path().join("memory/job");
        std::fs::create_dir_all(&v1).expect("writable");
        std::fs::write(v1.join("memory.limit_in_bytes"), "1073741824\n").expect("writable");
        assert_eq!(
            cgroup_limit("4:memory:/job\n3:cpuset:/\n", root.path()),
            Some(1 << 30)
        );
    }

    #[test]
    fn an_unlimited_or_missing_group_gives_no_limit() {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::write(root.path().join("memory.max"), "max\n").expect("writable");
        assert_eq!(cgroup_limit("0::/\n", root.path()), None);
        std::fs::create_dir_all(root.path().join("memory")).expect("writable");
        std::fs::write(
            root.path().join("memory/memory.limit_in_bytes"),
            "9223372036854771712\n",
        )
        .expect("writable");
        assert_eq!(cgroup_limit("4:memory:/\n", root.path()), None);
        assert_eq!(
            cgroup_limit("4:memory:/gone\n", Path::new("/nonexistent")),
            None
        );
    }

    #[test]
    fn the_default_limit_is_a_share_of_the_machine() {
        if let (Some(machine), Some(limit)) = (memory_bytes(), default_memory_limit()) {
            assert!(
                limit < machine && limit > machine / 2,
                "{limit} of {machine}"
            );
        }
    }
}
