//! Watches: a stream of `{"type": ..., "object": ...}` lines after a resourceVersion,
//! filtered by namespace and selectors (a change that leaves the selection is DELETED,
//! one that enters it ADDED), with bookmarks and a server-side timeout.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};

use super::resources::Resource;
use super::selectors::{FieldSelector, LabelSelector};
use super::store::{Change, ChangeKind};
use super::table::{self, Include};

/// How often an idle watch with `allowWatchBookmarks` gets a BOOKMARK.
const BOOKMARK_EVERY: Duration = Duration::from_secs(5);

pub struct WatchSpec {
    pub resource: &'static Resource,
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub bookmarks: bool,
    /// `sendInitialEvents=true`: end the initial ADDED events with an annotated bookmark.
    pub initial_events_end: bool,
    pub timeout: Duration,
    /// Objects as Table rows (`kubectl get --watch`).
    pub table: Option<Include>,
}

struct State {
    spec: WatchSpec,
    pending: std::collections::VecDeque<Arc<Change>>,
    rx: broadcast::Receiver<Arc<Change>>,
    stop: watch::Receiver<bool>,
    deadline: tokio::time::Instant,
    last_rv: u64,
    initial_end_pending: bool,
    first_table: bool,
    done: bool,
}

impl WatchSpec {
    fn in_scope(&self, o: &Value) -> bool {
        (self.namespace.is_none() || super::meta::namespace(o) == self.namespace.as_deref())
            && self.labels.matches(o)
            && self.fields.matches(o)
    }

    /// The event type this watch sees for a change, if any.
    fn event_type(&self, c: &Change) -> Option<&'static str> {
        if c.resource != self.resource {
            return None;
        }
        let now = self.in_scope(&c.object);
        let before = c.old.as_ref().is_some_and(|o| self.in_scope(o));
        match c.kind {
            ChangeKind::Added => now.then_some("ADDED"),
            ChangeKind::Deleted => (before || now).then_some("DELETED"),
            ChangeKind::Modified => match (before, now) {
                (true, true) => Some("MODIFIED"),
                (false, true) => Some("ADDED"),
                (true, false) => Some("DELETED"),
                (false, false) => None,
            },
        }
    }
}

fn line(kind: &str, object: Value) -> Bytes {
    let mut s = json!({"type": kind, "object": object}).to_string();
    s.push('\n');
    Bytes::from(s)
}

fn bookmark(res: &Resource, rv: u64, initial_end: bool) -> Value {
    let mut m = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        m["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"kind": res.kind, "apiVersion": res.api_version(), "metadata": m})
}

/// The watch's byte stream. `initial` are the changes to replay first.
pub fn stream(
    spec: WatchSpec,
    initial: Vec<Arc<Change>>,
    rx: broadcast::Receiver<Arc<Change>>,
    stop: watch::Receiver<bool>,
    current_rv: u64,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let deadline = tokio::time::Instant::now() + spec.timeout;
    let initial_end_pending = spec.initial_events_end;
    let state = State {
        spec,
        pending: initial.into(),
        rx,
        stop,
        deadline,
        last_rv: current_rv,
        initial_end_pending,
        first_table: true,
        done: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if st.done {
                return None;
            }
            if let Some(c) = st.pending.pop_front() {
                if let Some(t) = st.spec.event_type(&c) {
                    st.last_rv = st.last_rv.max(c.rv);
                    let obj = render(&mut st, &c.object);
                    return Some((Ok(line(t, obj)), st));
                }
                continue;
            }
            if st.initial_end_pending {
                st.initial_end_pending = false;
                let b = bookmark(st.spec.resource, st.last_rv, true);
                return Some((Ok(line("BOOKMARK", b)), st));
            }
            let bookmark_at = tokio::time::Instant::now() + BOOKMARK_EVERY;
            let next = tokio::select! {
                r = st.rx.recv() => match r {
                    Ok(c) => Next::Change(c),
                    // Too slow a reader: end the watch; clients re-list and watch again.
                    Err(_) => Next::End,
                },
                _ = tokio::time::sleep_until(st.deadline) => Next::End,
                _ = st.stop.wait_for(|s| *s) => Next::End,
                _ = tokio::time::sleep_until(bookmark_at), if st.spec.bookmarks => Next::Bookmark,
            };
            match next {
                Next::Change(c) => st.pending.push_back(c),
                Next::End => return None,
                Next::Bookmark => {
                    let b = bookmark(st.spec.resource, st.last_rv, false);
                    return Some((Ok(line("BOOKMARK", b)), st));
                }
            }
        }
    })
}

enum Next {
    Change(Arc<Change>),
    Bookmark,
    End,
}

fn render(st: &mut State, obj: &Value) -> Value {
    match st.spec.table {
        None => obj.clone(),
        Some(include) => {
            let rv = super::meta::resource_version(obj).unwrap_or("").to_string();
            let mut t = table::table(st.spec.resource, [obj], include, &rv);
            // Like the real server: column definitions only with the first event.
            if !st.first_table {
                t["columnDefinitions"] = json!([]);
            }
            st.first_table = false;
            t
        }
    }
}
