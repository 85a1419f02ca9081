//! An opt-in log the app installs (issue 17, item 4): a [`LogSink`] and the most verbose level it
//! wants, set once per process with [`set_log_sink`]. Without one nothing is formatted at all: the
//! core and the bindings log through the `log` facade, whose level check is one atomic load while
//! the level is off (the default).
//!
//! **What a line may hold.** Counts, durations, HTTP methods and status codes, byte sizes, catalogue
//! ids of errors (`error-network`), the relay's reason codes (`conflict`), and space kinds. Never a
//! secret (keys, phrases, link or invite codes), never user content (journal text, names, notes,
//! answers), never an id of a space, device or person, at any level: an app may ship its log in a
//! bug report, and ids link a person's activity across reports. Only lines of Sebaya's own targets
//! reach the sink (`sebaya::sync`, `sebaya::http`, `sebaya::live`, `sebaya::listeners`), so
//! whatever a dependency might log never does.
//!
//! **Threads.** The sink is called on the thread that logged (any thread: a sync's, a live
//! session's, a listener's caller), never while that thread holds the vault: a line logged inside
//! a vault call waits until the call lets the vault go, so the sink may read from the library. A
//! line logged from inside the sink itself is dropped, not delivered recursively; a sink that throws
//! loses that line and nothing else. **The sink must not sync** (nor start anything that waits for a
//! sync): a sync's lines are delivered while that sync holds the vault's sync gate
//! (`sync_turn.rs`), so a sync started inside the sink waits for the very sync that waits for the
//! sink, and hangs (a `sync_until` with a time limit ends `Cancelled`). Not fixed in the library:
//! the guides (docs/android.md, docs/ios.md, "Logging") say to post such work to another thread.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, RwLock};

use super::platform::CallbackError;

/// How much a line matters; a sink set at one level gets that level and every one above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed that the library could not handle for the app.
    Error,
    /// Something failed and was handled (a listener threw, a sync ended early).
    Warn,
    /// One line per sync, retry, cancellation or live session step.
    Info,
    /// One line per request and relay wait, with its status, sizes and time.
    Debug,
    /// The most detail there is (still no content and no ids).
    Trace,
}

impl From<LogLevel> for log::LevelFilter {
    fn from(l: LogLevel) -> log::LevelFilter {
        match l {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}

impl From<log::Level> for LogLevel {
    fn from(l: log::Level) -> LogLevel {
        match l {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        }
    }
}

/// Where the library's log lines go: the app's logger (Android: `Log`/Timber; iOS: `os.Logger`).
/// Keep it fast and never block in it (it runs on the thread that logged, often a sync's). Never
/// start a sync from inside `log`: a sync's lines arrive while that sync holds the vault's sync
/// gate, so the new sync would wait for it forever (hand such work to another thread).
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// One line: its `level`, its `target` (`sebaya::sync`, `sebaya::http`, `sebaya::live`,
    /// `sebaya::listeners`) and the `message`. A throw loses this line only.
    fn log(
        &self,
        level: LogLevel,
        target: String,
        message: String,
    ) -> std::result::Result<(), CallbackError>;
}

static SINK: RwLock<Option<Arc<dyn LogSink>>> = RwLock::new(None);

/// Most lines one vault call may leave waiting (a sync step logs a few; a flood is cut, not kept).
const MAX_WAITING: usize = 256;

type Line = (LogLevel, String, String);

thread_local! {
    /// Set while this thread is inside the sink: what the sink makes the library log is dropped.
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
    /// How many vault locks this thread holds now (see [`hold`]).
    static HELD: Cell<u32> = const { Cell::new(0) };
    /// Lines logged while this thread held the vault, delivered once it let go.
    static WAITING: RefCell<Vec<Line>> = const { RefCell::new(Vec::new()) };
}

/// Marks this thread as holding the vault until the value is dropped; drop it after the vault's
/// lock guard. Lines logged meanwhile are delivered at the drop, once the vault is free.
pub(crate) struct Held(());

/// See [`Held`].
pub(crate) fn hold() -> Held {
    HELD.with(|h| h.set(h.get() + 1));
    Held(())
}

impl Drop for Held {
    fn drop(&mut self) {
        let left = HELD.with(|h| {
            let n = h.get().saturating_sub(1);
            h.set(n);
            n
        });
        if left == 0 {
            let lines = WAITING.with(|w| std::mem::take(&mut *w.borrow_mut()));
            for line in lines {
                deliver(line);
            }
        }
    }
}

/// Hands one line to the sink set now, unless this thread is inside the sink already.
fn deliver((level, target, message): Line) {
    if IN_SINK.with(Cell::get) {
        return;
    }
    let sink = match SINK.read() {
        Ok(s) => s.clone(),
        Err(p) => p.into_inner().clone(),
    };
    let Some(sink) = sink else { return };
    IN_SINK.with(|f| f.set(true));
    // A sink that throws (or panics) loses its line; nothing else notices.
    let _ = catch_unwind(AssertUnwindSafe(|| sink.log(level, target, message)));
    IN_SINK.with(|f| f.set(false));
}

/// The one `log` logger of this library: hands Sebaya's own lines to the sink set now.
struct Forward;

static FORWARD: Forward = Forward;

fn ours(target: &str) -> bool {
    target == "sebaya" || target.starts_with("sebaya::")
}

impl log::Log for Forward {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level() && ours(m.target())
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) || IN_SINK.with(Cell::get) {
            return;
        }
        let line = (
            LogLevel::from(record.level()),
            record.target().to_owned(),
            record.args().to_string(),
        );
        if HELD.with(Cell::get) == 0 {
            deliver(line);
        } else {
            WAITING.with(|w| {
                let mut w = w.borrow_mut();
                if w.len() < MAX_WAITING {
                    w.push(line);
                }
            });
        }
    }

    fn flush(&self) {}
}

/// Sends the library's log lines at `max_level` and above to `sink` from now on (call at app start;
/// calling again replaces the sink and the level). Off until called: nothing is logged by default.
#[uniffi::export]
pub fn set_log_sink(sink: Arc<dyn LogSink>, max_level: LogLevel) {
    // Succeeds the first time in a process; later calls find this same logger installed.
    let _ = log::set_logger(&FORWARD);
    {
        let mut s = match SINK.write() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        *s = Some(sink);
    }
    log::set_max_level(max_level.into());
}

/// Stops logging: the sink is released and lines are no longer even formatted.
#[uniffi::export]
pub fn clear_log_sink() {
    log::set_max_level(log::LevelFilter::Off);
    let mut s = match SINK.write() {
        Ok(s) => s,
        Err(p) => p.into_inner(),
    };
    *s = None;
}
