//! Progress events. The core prints nothing: it reports what it is doing as [`Event`]s and each
//! binary renders them its own way (bars on a terminal, plain lines otherwise, nothing in tests).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Something worth telling the user while work is under way.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A step (or a long-running operation) began.
    StepStarted {
        step: String,
        detail: Option<String>,
    },
    /// A long-running operation is still going: its state as Azure reports it.
    StepProgress {
        step: String,
        /// `InProgress`, `Creating`, `Updating`, ... exactly as Azure spelled it.
        state: String,
        /// `percentComplete` when the service reports one.
        percent: Option<f64>,
        elapsed: Duration,
    },
    StepFinished {
        step: String,
        elapsed: Duration,
    },
    StepFailed {
        step: String,
        error: String,
    },
    /// A request failed transiently and will be sent again after `delay`.
    Retrying {
        step: Option<String>,
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    /// Azure asked us to slow down (HTTP 429); the request is sent again after `delay`.
    Throttled {
        step: Option<String>,
        delay: Duration,
    },
}

type Sink = Arc<dyn Fn(&Event) + Send + Sync>;

/// A cheap, cloneable handle that receives [`Event`]s. The default drops them.
///
/// A handle can carry a step name ([`Progress::for_step`]) so that events raised deep inside
/// the Azure client (retries, throttling) say which step they belong to.
#[derive(Clone, Default)]
pub struct Progress {
    sink: Option<Sink>,
    step: Option<Arc<str>>,
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Progress")
            .field("enabled", &self.sink.is_some())
            .field("step", &self.step)
            .finish()
    }
}

impl Progress {
    /// A handle that drops every event.
    pub fn none() -> Self {
        Self::default()
    }

    /// A handle that calls `f` for every event. `f` must be quick: it runs on the caller's task.
    pub fn new(f: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        Self {
            sink: Some(Arc::new(f)),
            step: None,
        }
    }

    /// The same sink, with events from lower layers attributed to `step`.
    pub fn for_step(&self, step: impl Into<String>) -> Self {
        Self {
            sink: self.sink.clone(),
            step: Some(Arc::from(step.into())),
        }
    }

    /// The step this handle attributes events to, if any.
    pub fn step(&self) -> Option<&str> {
        self.step.as_deref()
    }

    pub fn emit(&self, event: Event) {
        if let Some(sink) = &self.sink {
            sink(&event);
        }
    }

    pub(crate) fn step_owned(&self) -> Option<String> {
        self.step.as_deref().map(str::to_owned)
    }
}

/// Collects events in memory; for tests and benchmarks.
#[derive(Clone, Default, Debug)]
pub struct Recorder {
    events: Arc<std::sync::Mutex<Vec<Event>>>,
}

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A [`Progress`] that appends to this recorder.
    pub fn progress(&self) -> Progress {
        let events = self.events.clone();
        Progress::new(move |e| {
            if let Ok(mut v) = events.lock() {
                v.push(e.clone());
            }
        })
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.lock().map(|v| v.clone()).unwrap_or_default()
    }
}
