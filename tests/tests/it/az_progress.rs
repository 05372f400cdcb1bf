//! Issue 16, item 3: progress when stderr is not a terminal (CI logs, pipes). Each line is
//! `<RFC 3339 time> <step>: <news>` (az-hpccache-ext/src/progress.rs): one per change of a
//! step's state and a heartbeat at most every 30 s, not one per poll; `down` ends with a
//! line for itself; `cache update` reports under its own name.

use std::collections::BTreeSet;
use std::process::Output;

use hpccache_tests::{GUIDE_UP, Scratch};

/// `(step, news)` of each progress line on stderr.
fn lines(o: &Output) -> Vec<(String, String)> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter_map(|l| {
            let (time, rest) = l.split_once(' ')?;
            let (step, news) = rest.split_once(": ")?;
            time.ends_with('Z')
                .then(|| (step.to_owned(), news.to_owned()))
        })
        .collect()
}

/// A poll line's state: the news without its `(N%)` and `mm:ss`.
fn state(news: &str) -> String {
    news.split_whitespace()
        .filter(|w| !w.ends_with("%)") && !w.starts_with('(') && !w.contains(':'))
        .collect::<Vec<_>>()
        .join(" ")
}

fn ok(o: Output, what: &str) -> Output {
    assert!(
        o.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

#[test]
fn polls_print_one_line_per_state_not_one_per_poll() {
    let s = Scratch::new();
    // Cache 20 min -> 2.4 s, polled every 30 s -> 60 ms: about 40 polls, each with a new
    // percentage (the ~40 identical lines of issue 16), in far less than a heartbeat.
    let up = ok(
        s.az_sandbox_scaled("0.002")
            .args(GUIDE_UP)
            .args(["-o", "none"])
            .output()
            .expect("up"),
        "up",
    );
    let all = lines(&up);
    // The cache step's lines, and its operation's ("cache creation").
    let cache: Vec<&String> = all
        .iter()
        .filter(|(step, _)| step.starts_with("cache"))
        .map(|(_, news)| news)
        .collect();
    assert!(
        cache.len() >= 3,
        "started, a state, done for the cache: {all:#?}"
    );
    let steps: BTreeSet<&String> = all.iter().map(|(step, _)| step).collect();
    for step in steps {
        let news: Vec<String> = all
            .iter()
            .filter(|(s, _)| s == step)
            .map(|(_, n)| state(n))
            .collect();
        let repeated = news.windows(2).find(|w| w[0] == w[1]);
        assert!(
            repeated.is_none(),
            "{step}: the same state printed twice in a row within 30 s: {news:?}"
        );
    }
    let polls = s
        .sandbox_requests()
        .iter()
        .filter(|r| {
            r["method"] == "GET"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.to_ascii_lowercase().contains("/ascoperations/"))
        })
        .count();
    assert!(
        polls > cache.len() + 5,
        "the cache was polled {polls} times: the check above would pass anyway"
    );
}

#[test]
fn down_says_when_it_finished_and_cache_update_is_not_a_creation() {
    let s = Scratch::new();
    let up = ok(
        s.az_sandbox()
            .args(GUIDE_UP)
            .args(["-o", "json"])
            .output()
            .expect("up"),
        "up",
    );
    let summary: serde_json::Value = serde_json::from_slice(&up.stdout).expect("JSON");
    let cache = summary["resources"]["cache"].as_str().expect("cache id");
    let rg = hpccache_tests::resource_group_of(cache).expect("resource group");

    let update = ok(
        s.az_sandbox_scaled("0.002")
            .args([
                "cache",
                "update",
                "-g",
                rg,
                "-n",
                "MyHpcCache",
                // A change: a new cache has root squash off (an unchanged policy sends no PUT).
                "--root-squash",
            ])
            .output()
            .expect("cache update"),
        "cache update",
    );
    let steps: Vec<String> = lines(&update).into_iter().map(|(s, _)| s).collect();
    assert!(
        !steps.is_empty() && steps.iter().all(|s| s == "cache update"),
        "{steps:?}"
    );

    let down = ok(
        s.az_sandbox()
            .args(["down", "-n", "MyHpcCache", "--yes", "-o", "none"])
            .output()
            .expect("down"),
        "down",
    );
    let all = lines(&down);
    let (step, news) = all.last().expect("down prints progress");
    assert_eq!(step, "down", "the last line is down's own: {all:#?}");
    assert!(news.starts_with("done "), "{news}");
}
