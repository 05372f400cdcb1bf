//! List paging as ARM does it: a list longer than the page size answers the first page with
//! a `nextLink` (the same URL with an opaque `$skiptoken`), and so on until the last page,
//! which has none. Items are in the world's (stable) order, so pages never overlap.
//!
//! The page size is `$top` (private DNS) or `$maxpagesize` (blob containers) when the request
//! gives one, else the `pageSize` setting ([`crate::settings`]), else the list's default.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::errors::ArmError;
use super::{Ctx, Reply, Req};

/// Default page of most ARM lists.
pub const ARM: usize = 1000;
/// Private DNS lists: "If not specified, returns up to 100" (privatedns.json, `$top`).
pub const PRIVATE_DNS: usize = 100;

const SKIP: &str = "$skiptoken";

/// Answers one page of `items` (200 `{"value":[...], "nextLink"?}`).
pub fn page(
    ctx: &Ctx<'_>,
    req: &Req,
    items: Vec<Value>,
    default_size: usize,
) -> Result<Reply, ArmError> {
    let requested = ["$top", "$maxpagesize"]
        .iter()
        .find_map(|q| req.query(q))
        .map(|v| {
            v.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    ArmError::bad_request(
                        "InvalidParameter",
                        format!("The page size '{v}' is not valid: it must be a whole number of at least 1."),
                    )
                })
        })
        .transpose()?;
    let size = requested
        .or(ctx.settings().page_size)
        .unwrap_or(default_size)
        .max(1);
    let start = match req.query(SKIP) {
        Some(t) => offset(t).ok_or_else(|| {
            ArmError::bad_request(
                "InvalidSkipToken",
                format!("The skip token '{t}' is not valid; use the nextLink of the previous page as it is."),
            )
        })?,
        None => 0,
    };
    let total = items.len();
    let end = start.saturating_add(size).min(total);
    let value: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    let mut body = json!({ "value": value });
    if end < total {
        body["nextLink"] = json!(next_link(ctx, req, end));
    }
    Ok(Reply::json(200, body))
}

fn token(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("skip:{offset}"))
}

fn offset(token: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("skip:")?
        .parse()
        .ok()
}

fn next_link(ctx: &Ctx<'_>, req: &Req, offset: usize) -> String {
    let Ok(mut url) = url::Url::parse(ctx.base) else {
        return String::new();
    };
    url.set_path(&req.path);
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in req
            .query
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case(SKIP))
        {
            q.append_pair(k, v);
        }
        q.append_pair(SKIP, &token(offset));
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_tokens_round_trip_and_reject_garbage() {
        assert_eq!(offset(&token(1234)), Some(1234));
        assert_eq!(offset("not-a-token"), None);
        assert_eq!(offset(&URL_SAFE_NO_PAD.encode("skip:x")), None);
    }
}
