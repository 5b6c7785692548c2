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
        let filter =
            EnvFilter::try_new(quiet_libraries(&config.level)).map_err(|e| e.to_string())?;
        let Some(h) = &self.0 else {
            return Err("logging is not reloadable".into());
        };
        h.reload(filter).map_err(|e| e.to_string())?;
        Ok(config.level.clone())
    }
}

/// The libraries' own warnings (a DNS library printing raw structs and
/// buffers, a TLS library warning that a client hung up without a
/// close_notify) are not what an admin acts on: they show from `error` up,
/// unless the filter names them itself.
fn quiet_libraries(level: &str) -> String {
    let mut f = level.to_string();
    for lib in [
        "rustls",
        "hickory_proto",
        "hickory_resolver",
        "hickory_server",
    ] {
        if !level.contains(lib) {
            f.push_str(&format!(",{lib}=error"));
        }
    }
    f
}

/// Install the process's subscriber (once; a second call changes nothing).
pub fn init(config: &LogConfig) -> LogHandle {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_new(quiet_libraries(&config.level)).ok())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_noise_is_quiet_unless_asked_for() {
        let f = quiet_libraries("info");
        assert!(
            f.starts_with("info,")
                && f.contains("rustls=error")
                && f.contains("hickory_proto=error")
        );
        assert!(EnvFilter::try_new(&f).is_ok());
        let f = quiet_libraries("info,rustls=debug");
        assert!(!f.contains("rustls=error"), "{f}");
    }
}
