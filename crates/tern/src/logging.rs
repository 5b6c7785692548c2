//! Logging to standard error, as `[log]` says: text or JSON lines, filtered
//! by `level` unless `RUST_LOG` is set (which then wins, as documented). The
//! filter can be replaced while running (SIGHUP reloads it).

use tern_common::config::{LogConfig, LogFormat};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

/// Changes the running filter.
#[derive(Clone)]
pub struct LogHandle(Option<reload::Handle<EnvFilter, Registry>>);

impl LogHandle {
    /// Apply `config.level`, unless `RUST_LOG` rules. Returns the filter
    /// now in force.
    pub fn set_level(&self, config: &LogConfig) -> Result<String, String> {
        if let Ok(env) = std::env::var("RUST_LOG") {
            return Ok(format!("{env} (RUST_LOG)"));
        }
        let filter = EnvFilter::try_new(&config.level).map_err(|e| e.to_string())?;
        let Some(h) = &self.0 else {
            return Err("logging is not reloadable".into());
        };
        h.reload(filter).map_err(|e| e.to_string())?;
        Ok(config.level.clone())
    }
}

/// Install the process's subscriber (once; a second call changes nothing).
pub fn init(config: &LogConfig) -> LogHandle {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_new(&config.level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = match config.format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
    };
    match tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init()
    {
        Ok(()) => LogHandle(Some(handle)),
        Err(_) => LogHandle(None),
    }
}
