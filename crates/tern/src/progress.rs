//! Progress of the long jobs (backup, restore, import, export) on standard
//! error: a bar (`indicatif`) when it is a terminal, else a plain line now
//! and then — at every tenth of a known total, every 5 seconds, and at the
//! end — that a log keeps and a script can read ("import: 2400 of 10000
//! messages").

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often a plain line is written when standard error is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

pub struct Progress {
    job: &'static str,
    unit: &'static str,
    total: Option<u64>,
    done: u64,
    bar: Option<ProgressBar>,
    last_line: Instant,
    /// Tenths of the total already written as plain lines.
    tenths: u64,
}

impl Progress {
    /// A job counting `unit`s ("messages", "files", "bytes"), out of
    /// `total` when it is known.
    pub fn new(job: &'static str, unit: &'static str, total: Option<u64>) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = match total {
                Some(t) => ProgressBar::new(t),
                None => ProgressBar::new_spinner(),
            };
            let template = if total.is_some() {
                "{prefix} [{bar:30}] {pos}/{len} {msg} ({eta})"
            } else {
                "{prefix} {spinner} {pos} {msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(job);
            bar.set_message(unit);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            job,
            unit,
            total,
            done: 0,
            bar,
            last_line: Instant::now(),
            tenths: 0,
        }
    }

    /// `n` more done.
    pub fn add(&mut self, n: u64) {
        self.done += n;
        if let Some(bar) = &self.bar {
            bar.inc(n);
            return;
        }
        let tenths = self
            .total
            .and_then(|t| (self.done * 10).checked_div(t))
            .unwrap_or(0);
        if tenths > self.tenths || self.last_line.elapsed() >= PLAIN_EVERY {
            self.tenths = self.tenths.max(tenths);
            self.line();
        }
    }

    /// The job is over: the bar is cleared, or the last line written.
    pub fn finish(&mut self) {
        match self.bar.take() {
            Some(bar) => bar.finish_and_clear(),
            None => self.line(),
        }
    }

    fn line(&mut self) {
        self.last_line = Instant::now();
        match self.total {
            Some(t) => eprintln!("{}: {} of {t} {}", self.job, self.done, self.unit),
            None => eprintln!("{}: {} {}", self.job, self.done, self.unit),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
