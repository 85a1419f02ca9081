//! The relay's log lines: JSON (one object a line, for a log collector) or text, on stderr.
//!
//! What is logged is decided where it is logged; this only sets the form and the most verbose
//! level. Nothing the relay logs, at any level, names a client address, space, device, person or
//! request id (`api/observe.rs`; checked by `server/tests/ops.rs`).

/// How log lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object a line: what log collectors read.
    Json,
    /// Human-readable lines.
    Text,
}

/// Installs the process's log subscriber, writing to stderr. Fails if one is installed already.
pub fn init(format: LogFormat, level: tracing::Level) -> Result<(), String> {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(true);
    let installed = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
    installed.map_err(|e| format!("could not install the logger: {e}"))
}
