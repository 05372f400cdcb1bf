//! Keeping a deployment's record of its cache in step with changes made outside `up`
//! (`az-hpccache-ext cache update`), so `status` and `verify` do not report a setting the
//! cache no longer has.

use std::path::Path;

use super::LockedState;
use crate::Result;
use crate::azure::ids::same_id;

/// Sets `cache.rootSquash` in the state file at `path`, under its lock, when its
/// deployment has the cache `cache_id`. Returns
/// whether the file changed; another deployment's file is left as it is.
pub fn record_root_squash(path: &Path, cache_id: &str, root_squash: bool) -> Result<bool> {
    let locked = LockedState::lock(path)?;
    let Some(mut doc) = locked.load()? else {
        return Ok(false);
    };
    let ours = doc.resources.values().any(|r| same_id(&r.id, cache_id));
    match doc.cache.as_mut() {
        Some(cache) if ours && cache.root_squash != root_squash => {
            cache.root_squash = root_squash;
            locked.save(&doc)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}
