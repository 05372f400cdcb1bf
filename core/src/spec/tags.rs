//! `--tags key[=value] ...` the way `az` reads it: each word splits at its first `=`, a word
//! without `=` is a tag with an empty value, an empty word is skipped (so `--tags ""` clears all
//! tags), and a repeated key takes the last value but keeps its first position.

use serde_json::{Map, Value};

use super::text::{char_name, quote};
use crate::InvalidInput;

/// Most tags Azure keeps on one resource.
pub const MAX_TAGS: usize = 50;
/// Longest tag name Azure accepts, in characters.
pub const MAX_NAME_CHARS: usize = 512;
/// Longest tag value Azure accepts, in characters.
pub const MAX_VALUE_CHARS: usize = 256;
/// Characters Azure refuses in a tag name.
const FORBIDDEN_IN_NAME: &[char] = &['<', '>', '%', '&', '\\', '?', '/'];

const HINT: &str = "Give space-separated key[=value] pairs, e.g. --tags env=prod team=research; --tags \"\" clears all tags";

/// The tags in the order first given, as the `tags` object of an ARM request body.
pub fn parse<S: AsRef<str>>(flag: &str, words: &[S]) -> Result<Map<String, Value>, InvalidInput> {
    let mut tags = Map::new();
    for word in words.iter().map(AsRef::as_ref) {
        if word.is_empty() {
            continue;
        }
        let (key, value) = word.split_once('=').unwrap_or((word, ""));
        check_key(flag, word, key)?;
        let value_len = value.chars().count();
        if value_len > MAX_VALUE_CHARS {
            return Err(InvalidInput::new(
                flag,
                format!(
                    "the value of tag {} is {value_len} characters long, more than {MAX_VALUE_CHARS}",
                    quote(key)
                ),
            )
            .hint(HINT));
        }
        tags.insert(key.to_owned(), Value::String(value.to_owned()));
    }
    if tags.len() > MAX_TAGS {
        return Err(InvalidInput::new(
            flag,
            format!(
                "{} tags given, more than the {MAX_TAGS} a resource can hold",
                tags.len()
            ),
        )
        .hint(format!("Give at most {MAX_TAGS} tags")));
    }
    Ok(tags)
}

fn check_key(flag: &str, word: &str, key: &str) -> Result<(), InvalidInput> {
    let problem = if key.is_empty() {
        format!("{} has an empty tag name", quote(word))
    } else if key.chars().count() > MAX_NAME_CHARS {
        format!(
            "tag name {} is {} characters long, more than {MAX_NAME_CHARS}",
            quote(key),
            key.chars().count()
        )
    } else if let Some(c) = key.chars().find(|c| FORBIDDEN_IN_NAME.contains(c)) {
        format!("tag name {} contains {}", quote(key), char_name(c))
    } else {
        return Ok(());
    };
    Err(InvalidInput::new(flag, problem)
        .hint("Tag names are 1 to 512 characters without < > % & \\ ? or /. ".to_owned() + HINT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(m: &Map<String, Value>) -> Vec<(String, String)> {
        m.iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("<not a string>").to_owned()))
            .collect()
    }

    fn p(words: &[&str]) -> Vec<(String, String)> {
        pairs(&parse("--tags", words).unwrap())
    }

    fn owned(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn parses_like_az() {
        for (words, want) in [
            (
                &["env=prod", "team=hpc"][..],
                &[("env", "prod"), ("team", "hpc")][..],
            ),
            (&["flag"], &[("flag", "")]),
            (&["k="], &[("k", "")]),
            (&["url=a=b"], &[("url", "a=b")]),
            (&["with space=two words"], &[("with space", "two words")]),
            (&[""], &[]),
            (&[], &[]),
            (&["", "a=1"], &[("a", "1")]),
            // A repeated key: last value wins, first position kept.
            (&["a=1", "b=2", "a=3"], &[("a", "3"), ("b", "2")]),
        ] {
            assert_eq!(p(words), owned(want), "{words:?}");
        }
    }

    #[test]
    fn refuses_what_azure_refuses() {
        let long_key = format!("{}=v", "k".repeat(513));
        let long_value = format!("k={}", "v".repeat(257));
        for (word, why) in [
            ("=v", "empty tag name"),
            (long_key.as_str(), "513 characters long, more than 512"),
            (long_value.as_str(), "257 characters long, more than 256"),
            ("a<b=1", "'<'"),
            ("a>b", "'>'"),
            ("50%=1", "'%'"),
            ("a&b", "'&'"),
            ("a\\b", "'\\\\'"),
            ("why?", "'?'"),
            ("a/b=c", "'/'"),
        ] {
            let e = parse("--tags", &[word]).unwrap_err();
            assert_eq!(e.flag, "--tags");
            assert!(e.problem.contains(why), "{word:?}: {e}");
            assert!(e.hint.is_some());
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let key = "k".repeat(512);
        let value = "v".repeat(256);
        assert!(parse("--tags", &[format!("{key}={value}")]).is_ok());
    }

    #[test]
    fn at_most_fifty_tags_counting_repeats_once() {
        let fifty: Vec<String> = (0..50).map(|i| format!("t{i}=x")).collect();
        assert_eq!(parse("--tags", &fifty).unwrap().len(), 50);
        let mut with_repeat = fifty.clone();
        with_repeat.push("t0=y".to_owned());
        assert_eq!(parse("--tags", &with_repeat).unwrap().len(), 50);
        let mut fifty_one = fifty;
        fifty_one.push("t50".to_owned());
        let e = parse("--tags", &fifty_one).unwrap_err();
        assert!(e.problem.starts_with("51 tags given"), "{e}");
    }

    proptest! {
        #[test]
        fn valid_pairs_round_trip(
            tags in proptest::collection::vec(("[a-zA-Z0-9 ._-]{1,20}", "[^\u{0}]{0,20}"), 0..10)
        ) {
            let words: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let got = parse("--tags", &words).unwrap();
            // Expected: last value per key, in first-seen order.
            let mut want: Vec<(String, String)> = Vec::new();
            for (k, v) in &tags {
                match want.iter_mut().find(|(wk, _)| wk == k) {
                    Some(slot) => slot.1 = v.clone(),
                    None => want.push((k.clone(), v.clone())),
                }
            }
            prop_assert_eq!(pairs(&got), want);
        }
    }
}
