//! Renders the core's progress [`Event`]s on stderr, never on stdout (stdout is the result).
//!
//! - On a terminal: one indicatif spinner per running step, showing the step, its elapsed
//!   time, Azure's state and the percentage when the service reports one.
//! - Otherwise (CI logs, pipes): plain timestamped lines,
//!   `2026-11-28T03:50:01Z cache: Creating (40%) 00:12`: one when a step's state changes
//!   (a new percentage is not a new state), and a heartbeat at most every [`HEARTBEAT`] while
//!   it stays the same.
//! - With `--only-show-errors`: nothing.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hpccache_core::progress::{Event, Progress};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bars,
    Lines,
    Silent,
}

impl Mode {
    /// Bars on a terminal, lines elsewhere, nothing with `--only-show-errors`.
    pub fn detect(only_show_errors: bool) -> Mode {
        if only_show_errors {
            Mode::Silent
        } else if std::io::stderr().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        }
    }
}

/// The renderer: hand out [`Renderer::progress`] to the core; call [`Renderer::finish`]
/// before printing the result so no spinner is left half-drawn.
#[derive(Clone)]
pub struct Renderer {
    mode: Mode,
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("mode", &self.mode)
            .finish()
    }
}

/// In line mode, the longest a running step goes without a line while its state stays the
/// same. Printing every poll gave ~40 identical `InProgress (N%)` lines per cache operation
/// in CI logs (issue 16).
pub const HEARTBEAT: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Inner {
    multi: Option<MultiProgress>,
    bars: HashMap<String, ProgressBar>,
    lines: Lines,
}

/// Which lines line mode prints: per step, the last state printed and when.
#[derive(Default)]
struct Lines {
    last: HashMap<String, (String, Instant)>,
}

impl Lines {
    /// True when a line whose news is `state` should be printed for `step` at `now`: the
    /// state changed, or the last line is a [`HEARTBEAT`] old.
    fn admit(&mut self, step: &str, state: &str, now: Instant) -> bool {
        if let Some((last, at)) = self.last.get(step)
            && last == state
            && now.saturating_duration_since(*at) < HEARTBEAT
        {
            return false;
        }
        self.last.insert(step.to_owned(), (state.to_owned(), now));
        true
    }
}

impl Renderer {
    pub fn new(mode: Mode) -> Renderer {
        let multi = (mode == Mode::Bars)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Renderer {
            mode,
            inner: Arc::new(Mutex::new(Inner {
                multi,
                ..Inner::default()
            })),
        }
    }

    /// A progress handle whose events this renderer draws.
    pub fn progress(&self) -> Progress {
        if self.mode == Mode::Silent {
            return Progress::none();
        }
        let me = self.clone();
        Progress::new(move |e| me.render(e))
    }

    /// Clears every spinner still drawn (a step that never finished, an error path).
    pub fn finish(&self) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        for (_, bar) in inner.bars.drain() {
            bar.finish_and_clear();
        }
        if let Some(m) = &inner.multi {
            let _ = m.clear();
        }
    }

    fn render(&self, event: &Event) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        match self.mode {
            Mode::Silent => {}
            Mode::Lines => {
                if let Some((step, text)) = line(event) {
                    if !inner
                        .lines
                        .admit(&step, &news(event, &text), Instant::now())
                    {
                        return;
                    }
                    let _ = writeln!(
                        std::io::stderr().lock(),
                        "{} {step}: {text}",
                        timestamp(SystemTime::now())
                    );
                }
            }
            Mode::Bars => bars(&mut inner, event),
        }
    }
}

fn bars(inner: &mut Inner, event: &Event) {
    let Some(multi) = inner.multi.clone() else {
        return;
    };
    let style = ProgressStyle::with_template("{spinner} {prefix:.bold} [{elapsed_precise}] {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let bar_for = |step: &str, inner: &mut Inner| -> ProgressBar {
        inner
            .bars
            .entry(step.to_owned())
            .or_insert_with(|| {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(style.clone());
                bar.set_prefix(step.to_owned());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    };
    match event {
        Event::StepStarted { step, detail } => {
            let bar = bar_for(step, inner);
            bar.set_message(detail.clone().unwrap_or_else(|| "started".into()));
        }
        Event::StepProgress {
            step,
            state,
            percent,
            ..
        } => {
            let bar = bar_for(step, inner);
            bar.set_message(match percent {
                Some(p) => format!("{state} ({p:.0}%)"),
                None => state.clone(),
            });
        }
        Event::StepFinished { step, elapsed } => {
            if let Some(bar) = inner.bars.remove(step) {
                bar.finish_and_clear();
            }
            let _ = multi.println(format!("✓ {step} ({})", clock(*elapsed)));
        }
        Event::StepFailed { step, error } => {
            if let Some(bar) = inner.bars.remove(step) {
                bar.finish_and_clear();
            }
            let _ = multi.println(format!("✗ {step}: {error}"));
        }
        Event::Retrying {
            step,
            attempt,
            delay,
            reason,
        } => {
            let msg = format!(
                "retrying (attempt {attempt}) in {}: {reason}",
                clock(*delay)
            );
            match step {
                Some(s) => bar_for(s, inner).set_message(msg),
                None => {
                    let _ = multi.println(msg);
                }
            }
        }
        Event::Throttled { step, delay } => {
            let msg = format!("throttled by Azure, waiting {}", clock(*delay));
            match step {
                Some(s) => bar_for(s, inner).set_message(msg),
                None => {
                    let _ = multi.println(msg);
                }
            }
        }
    }
}

/// The step and the text of a plain line for `event`.
fn line(event: &Event) -> Option<(String, String)> {
    let unattributed = || "azure".to_owned();
    Some(match event {
        Event::StepStarted { step, detail } => (
            step.clone(),
            match detail {
                Some(d) => format!("started: {d}"),
                None => "started".into(),
            },
        ),
        Event::StepProgress {
            step,
            state,
            percent,
            elapsed,
        } => (
            step.clone(),
            match percent {
                Some(p) => format!("{state} ({p:.0}%) {}", clock(*elapsed)),
                None => format!("{state} {}", clock(*elapsed)),
            },
        ),
        Event::StepFinished { step, elapsed } => {
            (step.clone(), format!("done {}", clock(*elapsed)))
        }
        Event::StepFailed { step, error } => (step.clone(), format!("failed: {error}")),
        Event::Retrying {
            step,
            attempt,
            delay,
            reason,
        } => (
            step.clone().unwrap_or_else(unattributed),
            format!(
                "retrying (attempt {attempt}) in {}: {reason}",
                clock(*delay)
            ),
        ),
        Event::Throttled { step, delay } => (
            step.clone().unwrap_or_else(unattributed),
            format!("throttled by Azure, waiting {}", clock(*delay)),
        ),
    })
}

/// What makes a line news: a poll's state (not its percentage or elapsed time), or any other
/// event's text without its elapsed time.
fn news(event: &Event, text: &str) -> String {
    match event {
        Event::StepProgress { state, .. } => format!("state {state}"),
        _ => strip_elapsed(text),
    }
}

/// The line without its trailing `mm:ss`.
fn strip_elapsed(text: &str) -> String {
    match text.rsplit_once(' ') {
        Some((head, tail))
            if tail.contains(':') && tail.chars().all(|c| c.is_ascii_digit() || c == ':') =>
        {
            head.to_owned()
        }
        _ => text.to_owned(),
    }
}

/// `mm:ss`, or `h:mm:ss` past an hour.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// RFC 3339 UTC to the second (`2026-11-28T03:50:01Z`), without a date crate.
pub fn timestamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_837_801);
        assert_eq!(timestamp(t), "2026-11-28T03:50:01Z");
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn a_progress_line_reads_like_the_readme() {
        let e = Event::StepProgress {
            step: "cache".into(),
            state: "Creating".into(),
            percent: Some(40.0),
            elapsed: Duration::from_secs(12),
        };
        assert_eq!(
            line(&e),
            Some(("cache".into(), "Creating (40%) 00:12".into()))
        );
        assert_eq!(strip_elapsed("Creating (40%) 00:12"), "Creating (40%)");
    }

    fn poll(step: &str, state: &str, percent: f64) -> Event {
        Event::StepProgress {
            step: step.into(),
            state: state.into(),
            percent: Some(percent),
            elapsed: Duration::ZERO,
        }
    }

    /// Which of `events` (at the given seconds) line mode prints.
    fn printed(events: &[(u64, Event)]) -> Vec<usize> {
        let t0 = Instant::now();
        let mut lines = Lines::default();
        events
            .iter()
            .enumerate()
            .filter(|(_, (at, e))| {
                let (step, text) = line(e).expect("a line");
                lines.admit(&step, &news(e, &text), t0 + Duration::from_secs(*at))
            })
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn polls_print_once_per_state_and_a_heartbeat_at_most_every_30_s() {
        // A cache creation polled every 10 s for 2 minutes, its percentage rising each time.
        let mut events: Vec<(u64, Event)> = (0..12)
            .map(|i| (i * 10, poll("cache", "InProgress", i as f64 * 8.0)))
            .collect();
        events.push((120, poll("cache", "Succeeded", 100.0)));
        // Indices: the first poll, heartbeats at 30 s, 60 s and 90 s, the new state.
        assert_eq!(printed(&events), [0, 3, 6, 9, 12]);
    }

    #[test]
    fn steps_are_followed_separately_and_other_events_always_print() {
        let started = |s: &str| Event::StepStarted {
            step: s.into(),
            detail: None,
        };
        let finished = |s: &str| Event::StepFinished {
            step: s.into(),
            elapsed: Duration::from_secs(4),
        };
        let events = [
            (0, started("subnet")),
            (0, started("cache")),
            (1, poll("subnet", "Updating", 10.0)),
            (1, poll("cache", "InProgress", 1.0)),
            (2, poll("subnet", "Updating", 50.0)),
            (2, poll("cache", "InProgress", 2.0)),
            (4, finished("subnet")),
            (5, poll("cache", "Creating", 3.0)),
        ];
        assert_eq!(printed(&events), [0, 1, 2, 3, 6, 7]);
    }
}
