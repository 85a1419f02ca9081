//! A power cut for SQLite, simulated inside one process (issue 15, crash consistency).
//!
//! `kill -9` ends a process but keeps the operating system's page cache: every write SQLite made
//! reaches the disk sooner or later, synced or not, so it cannot show what a power loss does. This
//! module is a SQLite VFS that sits on the default one (registered as the new default with
//! [`install`], before any connection opens, so no product code changes). Every read and write goes
//! through to the real file; alongside, for each database, WAL and rollback-journal file it keeps
//! what the disk is known to hold (the file as it was when first opened, plus every write up to the
//! last `xSync` of that file) and the writes and truncations made since, in order.
//!
//! At the chosen mutating call (the `cut_at`-th `xWrite`, `xTruncate` or `xSync` of the process,
//! counted over every tracked file) the power goes: each tracked file is rewritten as its synced
//! state plus some of the unsynced operations, chosen by the [`Loss`] model (none of them; an ordered
//! prefix over all files; or each 512-byte sector of each write, and each truncation, kept or dropped
//! at random), the `-shm` files are deleted (SQLite rebuilds them), and the process exits at once
//! with [`CUT_EXIT`]. The cut call itself counts as unsynced: a write may be torn, a sync never
//! happened. What the next process opens is what a disk could hold after losing power there.
//!
//! Not modelled: directory entries (a file created, or deleted, stays so: SQLite syncs the directory
//! of a new WAL or journal itself on the unix VFS); writes SQLite makes outside `xWrite` (none with
//! the defaults used here: no memory-mapped I/O, no chunk size); the shared-memory index (rebuilt on
//! open). Test tool only: it holds one lock around every tracked write, so it serialises I/O.
#![allow(unsafe_code)] // A SQLite VFS is a C interface: raw pointers and `extern "C"` functions.

use std::collections::HashMap;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::{Mutex, MutexGuard, OnceLock};

use rusqlite::ffi;

/// Exit status of a process whose power was cut (so the parent tells a cut from a crash).
pub const CUT_EXIT: i32 = 86;
/// The unit a torn write keeps or loses: the sector size SQLite assumes on Unix.
pub const SECTOR: u64 = 512;

/// Which unsynced operations survive the cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// None: every file as of its last sync.
    All,
    /// The first operations in the order they were made (over all files), up to a random point: a
    /// disk that writes in order.
    Prefix,
    /// Each sector of each write, and each truncation, kept or lost at random: a disk that reorders
    /// and tears.
    Torn,
}

impl Loss {
    /// The model's name, as printed and parsed.
    pub fn name(self) -> &'static str {
        match self {
            Loss::All => "all",
            Loss::Prefix => "prefix",
            Loss::Torn => "torn",
        }
    }

    /// Parses a name printed by [`Loss::name`].
    pub fn parse(s: &str) -> Option<Loss> {
        [Loss::All, Loss::Prefix, Loss::Torn]
            .into_iter()
            .find(|l| l.name() == s)
    }
}

/// When and how the power goes.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// The mutating call (1-based, counted over the process) at which the power goes; 0: never
    /// (the shim only counts, see [`mutating_calls`]).
    pub cut_at: u64,
    /// What survives of the unsynced operations.
    pub loss: Loss,
    /// Seeds the choices of [`Loss::Prefix`] and [`Loss::Torn`].
    pub seed: u64,
}

enum Op {
    Write { off: u64, data: Vec<u8> },
    Truncate(u64),
}

/// One tracked file: what the disk holds for sure, and what was done since.
struct Tracked {
    path: String,
    durable: Vec<u8>,
    pending: Vec<(u64, Op)>,
}

struct State {
    plan: Plan,
    calls: u64,
    order: u64,
    files: Vec<Option<Tracked>>,
    by_path: HashMap<String, usize>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);
/// The VFS underneath (the platform's default), as an address.
static REAL: OnceLock<usize> = OnceLock::new();

/// A handle of ours; the real VFS's handle follows it in the same allocation.
#[repr(C)]
struct ShimFile {
    base: ffi::sqlite3_file,
    /// Index in `State::files`, or `UNTRACKED`.
    tracked: usize,
}

const UNTRACKED: usize = usize::MAX;
/// Where the real handle starts (16-byte aligned after ours).
const REAL_OFFSET: usize = std::mem::size_of::<ShimFile>().next_multiple_of(16);

fn state() -> MutexGuard<'static, Option<State>> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Mutating VFS calls made so far in this process (0 before [`install`]).
pub fn mutating_calls() -> u64 {
    state().as_ref().map_or(0, |s| s.calls)
}

/// Registers the shim as the default VFS with `plan`. Call it once, before any SQLite connection
/// of the process opens.
pub fn install(plan: Plan) -> Result<(), String> {
    if REAL.get().is_some() {
        return Err("the power-cut VFS is installed already".into());
    }
    *state() = Some(State {
        plan,
        calls: 0,
        order: 0,
        files: Vec::new(),
        by_path: HashMap::new(),
    });
    // SAFETY: sqlite3_vfs_find initialises SQLite and returns the default VFS, which lives for the
    // process. We copy its table (so every method we do not override is the real one, with the real
    // app data), and leak our copy: SQLite keeps the pointer for the life of the process.
    unsafe {
        let real = ffi::sqlite3_vfs_find(std::ptr::null());
        if real.is_null() {
            return Err("SQLite has no default VFS".into());
        }
        let _ = REAL.set(real as usize);
        let mut ours: ffi::sqlite3_vfs = *real;
        let real_size = usize::try_from((*real).szOsFile).map_err(|_| "bad szOsFile")?;
        ours.szOsFile = c_int::try_from(REAL_OFFSET + real_size).map_err(|_| "bad szOsFile")?;
        ours.pNext = std::ptr::null_mut();
        ours.zName = c"sebaya-powercut".as_ptr();
        ours.xOpen = Some(x_open);
        ours.xDelete = Some(x_delete);
        let ours = Box::leak(Box::new(ours));
        if ffi::sqlite3_vfs_register(ours, 1) != ffi::SQLITE_OK {
            return Err("sqlite3_vfs_register failed".into());
        }
    }
    Ok(())
}

fn real_vfs() -> *mut ffi::sqlite3_vfs {
    REAL.get()
        .map_or(std::ptr::null_mut(), |p| *p as *mut ffi::sqlite3_vfs)
}

/// The real handle inside one of ours.
///
/// # Safety
/// `f` is a handle SQLite allocated with our `szOsFile`.
unsafe fn real(f: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    // SAFETY: the allocation is REAL_OFFSET + the real szOsFile bytes long.
    unsafe { f.cast::<u8>().add(REAL_OFFSET).cast() }
}

/// The real handle's method table.
///
/// # Safety
/// `r` is a real handle the real VFS opened successfully.
unsafe fn methods<'a>(r: *mut ffi::sqlite3_file) -> &'a ffi::sqlite3_io_methods {
    // SAFETY: an opened handle's pMethods points at a static table.
    unsafe { &*(*r).pMethods }
}

/// Calls a method of the real handle, or answers an I/O error when it has none.
macro_rules! forward {
    ($f:expr, $name:ident $(, $arg:expr)*) => {{
        let r = real($f);
        match methods(r).$name {
            Some(m) => m(r $(, $arg)*),
            None => ffi::SQLITE_IOERR,
        }
    }};
}

unsafe extern "C" fn x_open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    f: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let vfs = real_vfs();
    // SAFETY: SQLite gave us `f` of our szOsFile bytes; the real VFS fills the part after ours.
    unsafe {
        let shim = f.cast::<ShimFile>();
        (*shim).tracked = UNTRACKED;
        (*shim).base.pMethods = std::ptr::null();
        let r = real(f);
        (*r).pMethods = std::ptr::null();
        let Some(open) = (*vfs).xOpen else {
            return ffi::SQLITE_CANTOPEN;
        };
        let rc = open(vfs, name, r, flags, out_flags);
        if !(*r).pMethods.is_null() {
            (*shim).base.pMethods = &METHODS;
        }
        if rc != ffi::SQLITE_OK || name.is_null() {
            return rc;
        }
        let kinds = ffi::SQLITE_OPEN_MAIN_DB | ffi::SQLITE_OPEN_WAL | ffi::SQLITE_OPEN_MAIN_JOURNAL;
        if flags & kinds == 0 {
            return rc;
        }
        let path = CStr::from_ptr(name).to_string_lossy().into_owned();
        let mut guard = state();
        if let Some(st) = guard.as_mut() {
            (*shim).tracked = st.track(&path);
        }
        rc
    }
}

unsafe extern "C" fn x_delete(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    sync_dir: c_int,
) -> c_int {
    let vfs = real_vfs();
    // SAFETY: `name` is a NUL-terminated path SQLite passes; the real VFS deletes it.
    unsafe {
        if !name.is_null() {
            let path = CStr::from_ptr(name).to_string_lossy().into_owned();
            if let Some(st) = state().as_mut() {
                if let Some(i) = st.by_path.get(&path) {
                    st.files[*i] = None;
                }
            }
        }
        match (*vfs).xDelete {
            Some(d) => d(vfs, name, sync_dir),
            None => ffi::SQLITE_IOERR_DELETE,
        }
    }
}

impl State {
    /// Starts tracking `path` (what is on disk now counts as synced), or finds it tracked already.
    fn track(&mut self, path: &str) -> usize {
        let i = match self.by_path.get(path) {
            Some(i) => *i,
            None => {
                self.files.push(None);
                let i = self.files.len() - 1;
                self.by_path.insert(path.to_string(), i);
                i
            }
        };
        if self.files[i].is_none() {
            self.files[i] = Some(Tracked {
                path: path.to_string(),
                durable: std::fs::read(path).unwrap_or_default(),
                pending: Vec::new(),
            });
        }
        i
    }

    /// Counts a mutating call; at the planned one, cuts the power (and does not return).
    fn tick(&mut self) {
        self.calls += 1;
        if self.plan.cut_at != 0 && self.calls == self.plan.cut_at {
            self.cut();
        }
    }

    fn record(&mut self, file: usize, op: Op) {
        self.order += 1;
        let order = self.order;
        if let Some(Some(t)) = self.files.get_mut(file) {
            t.pending.push((order, op));
        }
    }

    fn synced(&mut self, file: usize) {
        if let Some(Some(t)) = self.files.get_mut(file) {
            for (_, op) in std::mem::take(&mut t.pending) {
                apply(&mut t.durable, &op, None);
            }
        }
    }

    /// Leaves on disk what a power loss now could, then exits with [`CUT_EXIT`].
    fn cut(&mut self) -> ! {
        let mut rng = crate::crashrng::Rng::new(self.plan.seed ^ 0x9c07);
        let mut orders: Vec<u64> = self
            .files
            .iter()
            .flatten()
            .flat_map(|t| t.pending.iter().map(|(o, _)| *o))
            .collect();
        orders.sort_unstable();
        // Prefix: keep the operations before the k-th (of all files, in the order made).
        let k = rng.below(orders.len() as u64 + 1) as usize;
        let before = orders.get(k).copied().unwrap_or(u64::MAX);
        let (mut kept, mut lost) = (0usize, 0usize);
        for t in self.files.iter().flatten() {
            let mut image = t.durable.clone();
            for (order, op) in &t.pending {
                let keep = match self.plan.loss {
                    Loss::All => Some(false),
                    Loss::Prefix => Some(*order < before),
                    Loss::Torn => None,
                };
                match keep {
                    Some(true) => apply(&mut image, op, None),
                    Some(false) => {}
                    None => apply(&mut image, op, Some(&mut rng)),
                }
                if keep == Some(true) {
                    kept += 1;
                } else if keep == Some(false) {
                    lost += 1;
                }
            }
            if let Err(e) = std::fs::write(&t.path, &image) {
                eprintln!("powercut: could not write {}: {e}", t.path);
            }
            let _ = std::fs::remove_file(format!("{}-shm", t.path));
        }
        eprintln!(
            "powercut: power cut at mutating call {} ({} loss; {} unsynced operations, {kept} kept, {lost} lost{})",
            self.calls,
            self.plan.loss.name(),
            orders.len(),
            if self.plan.loss == Loss::Torn {
                ", torn by sector"
            } else {
                ""
            },
        );
        std::process::exit(CUT_EXIT)
    }
}

/// Applies one operation to a file image; with `torn`, each sector of a write (and a truncation)
/// is kept or lost at random.
fn apply(image: &mut Vec<u8>, op: &Op, torn: Option<&mut crate::crashrng::Rng>) {
    match op {
        Op::Truncate(size) => {
            if torn.is_some_and(|r| r.below(2) == 0) {
                return;
            }
            image.resize(usize::try_from(*size).unwrap_or(usize::MAX), 0);
        }
        Op::Write { off, data } => {
            let mut rng = torn;
            let mut at = *off;
            let end = off + data.len() as u64;
            while at < end {
                let next = ((at / SECTOR) + 1) * SECTOR;
                let stop = next.min(end);
                let keep = match rng.as_mut() {
                    Some(r) => r.below(2) == 1,
                    None => true,
                };
                if keep {
                    let (from, to) = ((at - off) as usize, (stop - off) as usize);
                    let (a, b) = (at as usize, stop as usize);
                    if image.len() < b {
                        image.resize(b, 0);
                    }
                    image[a..b].copy_from_slice(&data[from..to]);
                }
                at = stop;
            }
        }
    }
}

/// Runs `f` on the tracked state of the handle `f` names, if tracked, holding the lock until `then`
/// (the real call) has run.
///
/// # Safety
/// `file` is one of our handles.
unsafe fn tracked_call(
    file: *mut ffi::sqlite3_file,
    before: impl FnOnce(&mut State, usize),
    then: impl FnOnce() -> c_int,
    after: impl FnOnce(&mut State, usize, c_int),
) -> c_int {
    // SAFETY: our handle starts with ShimFile.
    let tracked = unsafe { (*file.cast::<ShimFile>()).tracked };
    if tracked == UNTRACKED {
        return then();
    }
    let mut guard = state();
    let Some(st) = guard.as_mut() else {
        return then();
    };
    before(st, tracked);
    let rc = then();
    after(st, tracked, rc);
    rc
}

unsafe extern "C" fn x_close(f: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: `f` is our handle, opened by the real VFS.
    unsafe { forward!(f, xClose) }
}

unsafe extern "C" fn x_read(
    f: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    n: c_int,
    off: i64,
) -> c_int {
    // SAFETY: as x_close; SQLite's buffer is passed on untouched.
    unsafe { forward!(f, xRead, buf, n, off) }
}

unsafe extern "C" fn x_write(
    f: *mut ffi::sqlite3_file,
    buf: *const c_void,
    n: c_int,
    off: i64,
) -> c_int {
    // SAFETY: `buf` holds `n` bytes (SQLite's contract for xWrite); `f` is our handle.
    unsafe {
        tracked_call(
            f,
            |st, i| {
                let len = usize::try_from(n).unwrap_or(0);
                let data = std::slice::from_raw_parts(buf.cast::<u8>(), len).to_vec();
                st.record(
                    i,
                    Op::Write {
                        off: u64::try_from(off).unwrap_or(0),
                        data,
                    },
                );
                st.tick();
            },
            || forward!(f, xWrite, buf, n, off),
            |_, _, _| {},
        )
    }
}

unsafe extern "C" fn x_truncate(f: *mut ffi::sqlite3_file, size: i64) -> c_int {
    // SAFETY: `f` is our handle.
    unsafe {
        tracked_call(
            f,
            |st, i| {
                st.record(i, Op::Truncate(u64::try_from(size).unwrap_or(0)));
                st.tick();
            },
            || forward!(f, xTruncate, size),
            |_, _, _| {},
        )
    }
}

unsafe extern "C" fn x_sync(f: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: `f` is our handle.
    unsafe {
        tracked_call(
            f,
            |st, _| st.tick(),
            || forward!(f, xSync, flags),
            |st, i, rc| {
                if rc == ffi::SQLITE_OK {
                    st.synced(i);
                }
            },
        )
    }
}

unsafe extern "C" fn x_file_size(f: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    // SAFETY: `f` is our handle.
    unsafe { forward!(f, xFileSize, size) }
}

unsafe extern "C" fn x_lock(f: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: `f` is our handle.
    unsafe { forward!(f, xLock, level) }
}

unsafe extern "C" fn x_unlock(f: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: `f` is our handle.
    unsafe { forward!(f, xUnlock, level) }
}

unsafe extern "C" fn x_check_reserved_lock(f: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    // SAFETY: `f` is our handle.
    unsafe { forward!(f, xCheckReservedLock, out) }
}

unsafe extern "C" fn x_file_control(
    f: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: `f` is our handle.
    unsafe { forward!(f, xFileControl, op, arg) }
}

unsafe extern "C" fn x_sector_size(f: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: `f` is our handle.
    unsafe {
        let r = real(f);
        methods(r).xSectorSize.map_or(SECTOR as c_int, |m| m(r))
    }
}

unsafe extern "C" fn x_device_characteristics(f: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: `f` is our handle.
    unsafe {
        let r = real(f);
        methods(r).xDeviceCharacteristics.map_or(0, |m| m(r))
    }
}

unsafe extern "C" fn x_shm_map(
    f: *mut ffi::sqlite3_file,
    page: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: `f` is our handle; shared memory is the real VFS's.
    unsafe { forward!(f, xShmMap, page, size, extend, out) }
}

unsafe extern "C" fn x_shm_lock(
    f: *mut ffi::sqlite3_file,
    off: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: `f` is our handle.
    unsafe { forward!(f, xShmLock, off, n, flags) }
}

unsafe extern "C" fn x_shm_barrier(f: *mut ffi::sqlite3_file) {
    // SAFETY: `f` is our handle.
    unsafe {
        let r = real(f);
        if let Some(m) = methods(r).xShmBarrier {
            m(r);
        }
    }
}

unsafe extern "C" fn x_shm_unmap(f: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    // SAFETY: `f` is our handle.
    unsafe { forward!(f, xShmUnmap, delete) }
}

unsafe extern "C" fn x_fetch(
    f: *mut ffi::sqlite3_file,
    off: i64,
    n: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: `f` is our handle. Memory-mapped pages are read-only for SQLite.
    unsafe { forward!(f, xFetch, off, n, out) }
}

unsafe extern "C" fn x_unfetch(f: *mut ffi::sqlite3_file, off: i64, p: *mut c_void) -> c_int {
    // SAFETY: `f` is our handle.
    unsafe { forward!(f, xUnfetch, off, p) }
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: Some(x_shm_map),
    xShmLock: Some(x_shm_lock),
    xShmBarrier: Some(x_shm_barrier),
    xShmUnmap: Some(x_shm_unmap),
    xFetch: Some(x_fetch),
    xUnfetch: Some(x_unfetch),
};

#[cfg(test)]
mod tests {
    use super::*;

    fn write(off: u64, data: &[u8]) -> Op {
        Op::Write {
            off,
            data: data.to_vec(),
        }
    }

    #[test]
    fn a_whole_write_lands_and_a_gap_is_zeros() {
        let mut image = vec![1u8; 4];
        apply(&mut image, &write(6, &[9, 9]), None);
        assert_eq!(image, [1, 1, 1, 1, 0, 0, 9, 9]);
        apply(&mut image, &Op::Truncate(3), None);
        assert_eq!(image, [1, 1, 1]);
    }

    #[test]
    fn a_torn_write_keeps_whole_sectors_only() {
        let data: Vec<u8> = (0..4 * SECTOR).map(|i| (i % 251) as u8 + 1).collect();
        let mut seen_partial = false;
        for seed in 0..16 {
            let mut rng = crate::crashrng::Rng::new(seed);
            let mut image = vec![0u8; data.len() + 100];
            apply(&mut image, &write(100, &data), Some(&mut rng));
            // Sectors of the file (not of the write) are kept or lost whole.
            let mut at = 100u64;
            let mut kept = 0;
            while at < 100 + data.len() as u64 {
                let stop = (((at / SECTOR) + 1) * SECTOR).min(100 + data.len() as u64);
                let part = &image[at as usize..stop as usize];
                let want = &data[(at - 100) as usize..(stop - 100) as usize];
                assert!(
                    part == want || part.iter().all(|b| *b == 0),
                    "a sector was split"
                );
                kept += usize::from(part == want);
                at = stop;
            }
            seen_partial |= kept > 0 && kept < 5;
        }
        assert!(seen_partial, "no seed tore the write");
    }
}
