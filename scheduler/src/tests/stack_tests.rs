//! The stack pool: guard pages without VMAs, the mprotect fallback's clean
//! refusal, reuse without syscalls, release of cold stacks.

use crate::stack::{
    count_vmas, probe_guard_mode, GuardMode, Stack, StackError, StackPool, CARVE_BATCH,
    RELEASE_BATCH, WARM_CAP,
};

/// Writes `byte` into every usable page of `s` (the guard page excluded).
fn touch(s: &Stack, byte: u8) {
    let (_, start) = s.guard();
    for addr in (start..s.base()).step_by(4096) {
        // SAFETY: [guard end, base) is the stack's usable memory, owned by `s`
        // and not used by any context.
        unsafe { (addr as *mut u8).write_volatile(byte) };
    }
}

/// Reads the first byte of each usable page of `s`.
fn read_all(s: &Stack) -> Vec<u8> {
    let (_, start) = s.guard();
    (start..s.base())
        .step_by(4096)
        // SAFETY: as in `touch`.
        .map(|addr| unsafe { (addr as *const u8).read_volatile() })
        .collect()
}

#[test]
fn a_stack_is_page_aligned_with_its_guard_below() {
    let pool = StackPool::new(20_000).unwrap();
    let s = pool.get().unwrap();
    assert_eq!(s.size(), 20_480, "rounded up to whole pages");
    assert_eq!(pool.stack_size(), 20_480);
    let (g0, g1) = s.guard();
    assert_eq!(g0, s.limit());
    assert_eq!(
        g1 - g0,
        4096 * (1 + crate::stack::YELLOW_PAGES),
        "red page + yellow zone"
    );
    assert_eq!(s.base() - g1, s.size());
    assert_eq!(s.base() % 4096, 0);
    touch(&s, 7);
    assert!(read_all(&s).iter().all(|&b| b == 7));
}

/// The VMAs of this process that overlap any of `ranges`.
fn vmas_in(ranges: &[(usize, usize)]) -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter(|line| {
            let span = line.split_whitespace().next().unwrap();
            let (a, b) = span.split_once('-').unwrap();
            let a = usize::from_str_radix(a, 16).unwrap();
            let b = usize::from_str_radix(b, 16).unwrap();
            ranges.iter().any(|&(s, e)| a < e && s < b)
        })
        .count()
}

#[test]
fn one_hundred_thousand_guarded_stacks_add_a_handful_of_vmas() {
    if probe_guard_mode() != GuardMode::Madvise {
        // Kernel < 6.13: the fallback's limit is tested below instead.
        return;
    }
    let pool = StackPool::new(16 * 1024).unwrap();
    let stacks: Vec<Stack> = (0..100_000).map(|_| pool.get().unwrap()).collect();
    let stats = pool.stats();
    assert_eq!(stats.guard, GuardMode::Madvise);
    assert_eq!(stats.in_use, 100_000);
    // 64 + 128 + ... + 65,536 slots: 100,000 stacks need 11 slabs (mmaps).
    assert_eq!(stats.slabs, 11, "{stats:?}");
    // However many guard pages, each slab stays one VMA (or merges with its
    // neighbour): the guards live in the page tables. (Counted over the
    // slabs' own ranges: tests running alongside map things too.)
    let vmas = vmas_in(&pool.slab_ranges());
    assert!(vmas <= stats.slabs, "100,000 stacks in {vmas} VMAs");
    drop(stacks);
    assert_eq!(pool.stats().in_use, 0);
}

#[test]
fn the_mprotect_fallback_refuses_before_max_map_count() {
    let now = count_vmas().unwrap();
    // A pretend limit 2,000 above what the process has: the pool must keep
    // 256 mappings of headroom and refuse cleanly once it would cross it.
    let limit = now + 2_000;
    let pool = StackPool::with_options(16 * 1024, GuardMode::Mprotect, limit).unwrap();
    let mut stacks = Vec::new();
    let err = loop {
        match pool.get() {
            Ok(s) => stacks.push(s),
            Err(e) => break e,
        }
        assert!(stacks.len() < 2_000, "never refused");
    };
    let StackError::MapCountLimit {
        max_map_count,
        in_use,
    } = err
    else {
        panic!("expected MapCountLimit, got {err}");
    };
    assert_eq!(max_map_count, limit);
    assert!(in_use < limit, "refused only after crossing the limit");
    assert!(err.to_string().contains("sysctl vm.max_map_count"), "{err}");
    // The guards really are separate mappings: ~2 a stack.
    let added = count_vmas().unwrap().saturating_sub(now);
    assert!(stacks.len() > 500, "refused too early: {}", stacks.len());
    assert!(
        added >= stacks.len(),
        "{added} VMAs for {} stacks",
        stacks.len()
    );
    // Returned stacks are reused: no new mapping needed.
    stacks.truncate(10);
    assert!(pool.get().is_ok());
}

#[test]
fn the_warm_path_reuses_stacks_without_mapping() {
    let pool = StackPool::new(16 * 1024).unwrap();
    let first: Vec<Stack> = (0..100).map(|_| pool.get().unwrap()).collect();
    let carved = pool.stats();
    let batch = match carved.guard {
        GuardMode::Madvise => CARVE_BATCH,
        GuardMode::Mprotect => 1, // one mprotect a stack: no batching
    };
    assert_eq!(carved.carved, 100usize.next_multiple_of(batch));
    drop(first);
    for _ in 0..10_000 {
        let s = pool.get().unwrap();
        pool.put(s);
    }
    let stats = pool.stats();
    assert_eq!(stats.slabs, carved.slabs, "no new mmap");
    assert_eq!(stats.carved, carved.carved, "no new guard page");
    assert_eq!(stats.cold, 0, "no MADV_DONTNEED below WARM_CAP");
    assert_eq!(
        stats.warm, stats.carved,
        "every carved stack is free and warm"
    );
    assert_eq!(stats.in_use, 0);
}

#[test]
fn stacks_beyond_the_warm_cap_give_their_pages_back_in_batches() {
    let pool = StackPool::new(8 * 1024).unwrap();
    let n = WARM_CAP + RELEASE_BATCH + 10;
    let stacks: Vec<Stack> = (0..n).map(|_| pool.get().unwrap()).collect();
    for s in &stacks {
        touch(s, 0xAB);
    }
    drop(stacks);
    let stats = pool.stats();
    assert_eq!(stats.cold, RELEASE_BATCH, "{stats:?}");
    assert_eq!(stats.warm + stats.cold, stats.carved);
    // Every free stack, in the order `get` hands them out: stacks that kept
    // their pages first, the released (zero-filled) ones last.
    let all: Vec<Stack> = (0..stats.carved).map(|_| pool.get().unwrap()).collect();
    assert_eq!(pool.stats().carved, stats.carved, "nothing new carved");
    let kept = all
        .iter()
        .filter(|s| read_all(s).iter().all(|&b| b == 0xAB))
        .count();
    assert_eq!(kept, n - RELEASE_BATCH);
    let released = &all[all.len() - RELEASE_BATCH..];
    assert!(released.iter().all(|s| read_all(s).iter().all(|&b| b == 0)));
}

#[test]
fn stacks_outlive_their_pool_handle() {
    let pool = StackPool::new(8 * 1024).unwrap();
    let s = pool.get().unwrap();
    drop(pool);
    touch(&s, 1); // still mapped: the stack holds the slab
    assert!(read_all(&s).iter().all(|&b| b == 1));
}

#[test]
fn errors_name_the_knob() {
    let e = StackError::NoMemory {
        stack_size: 65536,
        source: std::io::Error::from_raw_os_error(libc::ENOMEM),
    };
    assert!(e.to_string().contains("stack size"), "{e}");
}

/// The `VmFlags` lines of /proc/self/smaps for the VMAs overlapping `ranges`.
fn vm_flags_in(ranges: &[(usize, usize)]) -> Vec<String> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let mut inside = false;
    let mut flags = Vec::new();
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                inside = ranges.iter().any(|&(s, e)| a < e && s < b);
                continue;
            }
        }
        if inside {
            if let Some(f) = line.strip_prefix("VmFlags:") {
                flags.push(f.trim().to_owned());
            }
        }
    }
    flags
}

/// docs/architecture.md §3: on a host whose THP setting is `always`, a huge page would make
/// a 64 KiB stack cost all of it. Every slab carries the kernel's "no huge page"
/// flag (`nh` in smaps), whatever this host's THP setting.
#[test]
fn slabs_opt_out_of_transparent_huge_pages() {
    let pool = StackPool::new(64 * 1024).unwrap();
    let stacks: Vec<Stack> = (0..200).map(|_| pool.get().unwrap()).collect();
    let flags = vm_flags_in(&pool.slab_ranges());
    assert!(!flags.is_empty());
    assert!(
        flags.iter().all(|f| f.split(' ').any(|x| x == "nh")),
        "{flags:?}"
    );
    drop(stacks);
}
