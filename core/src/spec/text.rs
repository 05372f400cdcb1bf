//! Wording shared by the validators, so every message quotes and lists the same way.

use std::fmt::Display;

/// Longest value quoted in full; longer values are cut so one bad flag cannot flood a terminal.
const QUOTE_MAX_CHARS: usize = 80;

/// The value in double quotes, with control characters escaped (a pasted escape sequence must
/// not reach the user's terminal raw).
pub(crate) fn quote(v: &str) -> String {
    if v.chars().count() <= QUOTE_MAX_CHARS {
        format!("{v:?}")
    } else {
        let head: String = v.chars().take(QUOTE_MAX_CHARS).collect();
        format!("{:?}", format!("{head}…"))
    }
}

/// One character as a message shows it: `'_'`, `a space`.
pub(crate) fn char_name(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        c if c.is_uppercase() => format!("uppercase {c:?}"),
        c => format!("{c:?}"),
    }
}

/// `a`, `a or b`, `a, b or c`.
pub(crate) fn one_of<T: Display>(items: &[T]) -> String {
    join(items, "or")
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn all_of<T: Display>(items: &[T]) -> String {
    join(items, "and")
}

fn join<T: Display>(items: &[T], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., tail] => {
            let init: Vec<String> = init.iter().map(ToString::to_string).collect();
            format!("{} {last} {tail}", init.join(", "))
        }
    }
}

/// Most distinct offending characters named in one message.
const MAX_BAD_CHARS_SHOWN: usize = 5;

/// `it is empty`, `it is 2 characters long, fewer than 3`, or `None` when within bounds.
pub(crate) fn length_problem(len: usize, min: usize, max: usize) -> Option<String> {
    let chars = |n: usize| if n == 1 { "character" } else { "characters" };
    if len == 0 {
        Some("it is empty".to_owned())
    } else if len < min {
        Some(format!("it is {len} {} long, fewer than {min}", chars(len)))
    } else if len > max {
        Some(format!("it is {len} {} long, more than {max}", chars(len)))
    } else {
        None
    }
}

/// `it contains '_' and uppercase 'M'`, naming each offending character once.
pub(crate) fn bad_chars(v: &str, allowed: fn(char) -> bool) -> Option<String> {
    let mut bad: Vec<char> = Vec::new();
    for c in v.chars().filter(|&c| !allowed(c)) {
        if !bad.contains(&c) {
            bad.push(c);
        }
    }
    if bad.is_empty() {
        return None;
    }
    let shown: Vec<String> = bad
        .iter()
        .take(MAX_BAD_CHARS_SHOWN)
        .map(|&c| char_name(c))
        .collect();
    let more = if bad.len() > MAX_BAD_CHARS_SHOWN {
        " (and others)"
    } else {
        ""
    };
    Some(format!("it contains {}{more}", all_of(&shown)))
}

/// Levenshtein distance over characters, for "did you mean" suggestions.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_control_characters_and_cuts_long_values() {
        assert_eq!(quote("My_Acct"), r#""My_Acct""#);
        assert_eq!(quote("a\u{1b}[31m"), r#""a\u{1b}[31m""#);
        let long = "x".repeat(200);
        let q = quote(&long);
        assert!(q.ends_with("…\""), "{q}");
        assert_eq!(q.chars().count(), QUOTE_MAX_CHARS + 3);
    }

    #[test]
    fn lists_read_as_english() {
        assert_eq!(one_of::<&str>(&[]), "");
        assert_eq!(one_of(&["a"]), "a");
        assert_eq!(one_of(&["a", "b"]), "a or b");
        assert_eq!(one_of(&[3072, 6144, 12288]), "3072, 6144 or 12288");
        assert_eq!(all_of(&["a", "b", "c"]), "a, b and c");
    }

    #[test]
    fn edit_distance_counts_insertions_deletions_substitutions() {
        for (a, b, d) in [
            ("", "", 0),
            ("eastus", "eastus", 0),
            ("eastus", "estus", 1),
            ("eastus", "eastus2", 1),
            ("westeurope", "westeurpoe", 2),
            ("kitten", "sitting", 3),
            ("", "abc", 3),
        ] {
            assert_eq!(edit_distance(a, b), d, "{a} → {b}");
            assert_eq!(edit_distance(b, a), d, "{b} → {a}");
        }
    }
}
