//! Which protocols this build serves, and their session handlers.

use std::sync::Arc;

use tern_common::config::{Config, ListenerKind};
use tern_common::listener::Handler;
use tern_queue::Queue;
use tern_store::Store;

/// Listener kinds with a working protocol behind them. Configuring any
/// other kind is refused at start-up (fail closed), never silently ignored.
pub fn implemented(kind: ListenerKind) -> bool {
    matches!(
        kind,
        ListenerKind::Smtp
            | ListenerKind::Submission
            | ListenerKind::Submissions
            | ListenerKind::Pop3
            | ListenerKind::Pop3s
            | ListenerKind::Imap
            | ListenerKind::Imaps
            | ListenerKind::Http
            | ListenerKind::Https
            | ListenerKind::Managesieve
            | ListenerKind::Managesieves
    )
}

/// The handler for `kind`; an error when its set-up fails (DNS for the
/// inbound checks, say), `Ok(None)` for a kind this build does not serve.
pub fn handler(
    kind: ListenerKind,
    config: &Arc<Config>,
    store: &Store,
    queue: &Queue,
    http: &Arc<tern_http::Service>,
) -> anyhow::Result<Option<Arc<dyn Handler>>> {
    let (c, s) = (config.clone(), store.clone());
    Ok(match kind {
        ListenerKind::Smtp => Some(Arc::new(tern_smtp::Service::new(
            c,
            s,
            Some(queue.clone()),
        )?)),
        ListenerKind::Submission | ListenerKind::Submissions => Some(Arc::new(
            tern_smtp::Service::submission(c, s, queue.clone()),
        )),
        ListenerKind::Pop3 | ListenerKind::Pop3s => Some(Arc::new(tern_pop3::Service::new(c, s))),
        ListenerKind::Imap | ListenerKind::Imaps => Some(Arc::new(tern_imap::Service::new(c, s))),
        ListenerKind::Http | ListenerKind::Https => Some(http.clone()),
        ListenerKind::Managesieve | ListenerKind::Managesieves => {
            Some(Arc::new(tern_managesieve::Service::new(c, s)))
        }
    })
}
