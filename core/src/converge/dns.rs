//! The private DNS zone, its link to the cluster's vnet and the A record set of the cache's
//! mount addresses: each wanted object in → read → compare → create or update → wait →
//! [`super::Converged`]. `up`'s dns and records steps and `dns create` call [`zone`],
//! [`decide_link`] / [`link`] and [`decide_records`] / [`records`].
//!
//! - A link is done when it is `virtualNetworkLinkState` Completed, not when its PUT is:
//!   names do not resolve through it before. A link found in place is waited for too.
//! - A link of the wanted name to another vnet is bad input (its vnet cannot be changed).
//! - A link or record set another deployment owns (its `hpccache-deployment` tag names
//!   another deployment; for `dns create`, which is no deployment, any) is never changed:
//!   bad input naming the flag. [`other_owner`] is that rule, also for `up`'s preflight.
//! - A record set that is not the caller's keeps its own metadata when its addresses are
//!   rewritten: this tool's tag on it would let a later `down --adopt` take it.

use std::collections::{BTreeMap, BTreeSet};

use super::Outcome;
use crate::azure::dns::{self, PrivateZone, RecordSet, VirtualNetworkLink};
use crate::azure::ids::same_id;
use crate::azure::lro::PollPolicy;
use crate::azure::{ArmClient, ResourceId};
use crate::deploy::spec::DEPLOYMENT_TAG;
use crate::progress::Progress;
use crate::{Error, InvalidInput, Result};

/// Seconds resolvers keep the answer; short, since a cache's addresses change only on re-create.
pub const TTL: u64 = 300;

/// The flags a caller names in its errors (`up` and `dns create` spell them differently).
#[derive(Debug, Clone, Copy)]
pub struct Flags {
    /// The flag that names another link (`up` derives the link's name from the zone's vnet).
    pub link: &'static str,
    pub registration: &'static str,
    pub record: &'static str,
}

impl Flags {
    pub const UP: Flags = Flags {
        link: "--dns-zone",
        registration: "--dns-registration",
        record: "--dns-name",
    };
    pub const DNS_CREATE: Flags = Flags {
        link: "--link-name",
        registration: "--dns-registration",
        record: "--record-name",
    };
}

/// Who is asking: `up` of a deployment, or a step command (which is no deployment).
#[derive(Debug, Clone)]
pub struct Caller {
    /// `None`: a step command; every deployment's object is another's.
    pub deployment: Option<String>,
    pub flags: Flags,
}

/// The deployment `tags` (an `hpccache-deployment` tag) name, when it is not `deployment`
/// (`None`: the caller is no deployment, so any deployment named is another).
pub fn other_owner<'a>(
    tags: &'a BTreeMap<String, String>,
    deployment: Option<&str>,
) -> Option<&'a str> {
    tags.get(DEPLOYMENT_TAG)
        .map(String::as_str)
        .filter(|d| Some(*d) != deployment)
}

/// The zone, as [`dns::get_zone`] `found` it: created (with `tags`) when missing, else left as
/// it is.
pub async fn zone(
    client: &ArmClient,
    id: &ResourceId,
    found: Option<PrivateZone>,
    tags: &BTreeMap<String, String>,
    policy: &PollPolicy,
    before_create: &(dyn Fn() -> Result<()> + Sync),
) -> Result<Outcome<PrivateZone>> {
    if let Some(z) = found {
        return Ok(Outcome::new(z.id.clone(), false, z));
    }
    before_create()?;
    let body = dns::begin_put_zone(client, id, tags)
        .await?
        .wait(client, policy)
        .await?;
    let z = match body.and_then(|v| serde_json::from_value(v).ok()) {
        Some(z) => z,
        None => dns::get_zone(client, id)
            .await?
            .ok_or_else(|| vanished(id))?,
    };
    Ok(Outcome::new(id.to_string(), true, z))
}

fn vanished(id: &ResourceId) -> Error {
    Error::Lookup {
        what: id.to_string(),
        reason: "it vanished right after it was written".to_owned(),
    }
}

/// The vnet link wanted.
#[derive(Debug, Clone)]
pub struct LinkWant {
    pub id: ResourceId,
    pub vnet: String,
    pub registration: bool,
    /// Tags of the link when it is written.
    pub tags: BTreeMap<String, String>,
}

/// What converging a link or a record set would do.
#[derive(Debug, Clone)]
pub enum Decision<T, U = ()> {
    Create,
    /// Write it again, with `U` (a record set's metadata).
    Update(U),
    /// As wanted (a link: waited for until Completed).
    Keep(Box<T>),
}

impl<T, U> Decision<T, U> {
    /// The plan's verb.
    pub fn action(&self) -> &'static str {
        match self {
            Decision::Create => "create",
            Decision::Update(_) => "update",
            Decision::Keep(_) => "none",
        }
    }
}

/// A link is updated when its registration setting differs (and it is the caller's to change).
pub type LinkDecision = Decision<VirtualNetworkLink>;

/// A record set is updated with its own metadata when it is not the caller's.
pub type RecordsDecision = Decision<RecordSet, BTreeMap<String, String>>;

/// Compares a found link with the wanted one. `ours`: the caller's records say it made the
/// link (then another deployment's tag on it does not stop an update).
pub fn decide_link(
    want: &LinkWant,
    found: Option<&VirtualNetworkLink>,
    caller: &Caller,
    ours: bool,
) -> Result<LinkDecision> {
    let Some(l) = found else {
        return Ok(LinkDecision::Create);
    };
    if let Some(v) = &l.properties.virtual_network
        && !same_id(&v.id, &want.vnet)
    {
        return Err(InvalidInput::new(
            caller.flags.link,
            format!(
                "vnet link {} of zone {} links vnet {}, not {}",
                l.name,
                want.id
                    .parent()
                    .map(|z| z.name().to_owned())
                    .unwrap_or_default(),
                v.id,
                want.vnet
            ),
        )
        .hint(format!(
            "A link's vnet cannot be changed; pass another {}",
            caller.flags.link
        ))
        .into());
    }
    if l.properties.registration_enabled.unwrap_or(false) == want.registration {
        return Ok(LinkDecision::Keep(Box::new(l.clone())));
    }
    if !ours && let Some(other) = other_owner(&l.tags, caller.deployment.as_deref()) {
        return Err(InvalidInput::new(
            caller.flags.registration,
            format!(
                "changing registration on vnet link {} would change deployment {other}'s link",
                l.name
            ),
        )
        .hint(format!(
            "Leave {} as deployment {other} has it, or take {other} down first (az-hpccache-ext down -n {other})",
            caller.flags.registration
        ))
        .into());
    }
    Ok(LinkDecision::Update(()))
}

/// Carries out `decision`: the link written when it must be, then waited for until Completed.
pub async fn link(
    client: &ArmClient,
    want: &LinkWant,
    decision: LinkDecision,
    policy: &PollPolicy,
    progress: &Progress,
) -> Result<Outcome<VirtualNetworkLink>> {
    let created = matches!(decision, LinkDecision::Create);
    let l = match decision {
        LinkDecision::Keep(_) => dns::wait_link_completed(client, &want.id, policy).await?,
        LinkDecision::Create | LinkDecision::Update(()) => {
            dns::converge_link(
                client,
                &want.id,
                &want.vnet,
                want.registration,
                &want.tags,
                policy,
                progress,
            )
            .await?
        }
    };
    Ok(Outcome::new(l.id.clone(), created, l))
}

/// The A record set wanted.
#[derive(Debug, Clone)]
pub struct RecordsWant {
    pub zone: ResourceId,
    pub name: String,
    /// Every mount address of the cache.
    pub addresses: Vec<String>,
    /// Metadata of a record set the caller owns.
    pub metadata: BTreeMap<String, String>,
}

impl RecordsWant {
    pub fn id(&self) -> ResourceId {
        dns::a_record_set_id(&self.zone, &self.name)
    }
}

/// Compares a found record set with the wanted one. `ours`: the caller's records say it made
/// the record set.
pub fn decide_records(
    want: &RecordsWant,
    found: Option<&RecordSet>,
    caller: &Caller,
    ours: bool,
) -> Result<RecordsDecision> {
    let Some(r) = found else {
        return Ok(RecordsDecision::Create);
    };
    let have: BTreeSet<&str> = r.addresses().into_iter().collect();
    let wanted: BTreeSet<&str> = want.addresses.iter().map(String::as_str).collect();
    if have == wanted {
        return Ok(RecordsDecision::Keep(Box::new(r.clone())));
    }
    if ours {
        return Ok(RecordsDecision::Update(want.metadata.clone()));
    }
    if let Some(other) = other_owner(&r.properties.metadata, caller.deployment.as_deref()) {
        let zone = want.zone.name();
        return Err(InvalidInput::new(
            caller.flags.record,
            format!(
                "the A record set {} in zone {zone} belongs to deployment {other}",
                want.name
            ),
        )
        .hint(format!(
            "Pass another {}, or converge deployment {other}'s own records (az-hpccache-ext up -n {other})",
            caller.flags.record
        ))
        .into());
    }
    Ok(RecordsDecision::Update(r.properties.metadata.clone()))
}

/// Carries out `decision`; `before_write` runs right before the PUT.
pub async fn records(
    client: &ArmClient,
    want: &RecordsWant,
    decision: RecordsDecision,
    before_write: &(dyn Fn() -> Result<()> + Sync),
) -> Result<Outcome<RecordSet>> {
    let (metadata, created) = match decision {
        RecordsDecision::Keep(r) => {
            return Ok(Outcome::new(r.id.clone(), false, *r));
        }
        RecordsDecision::Create => (&want.metadata, true),
        RecordsDecision::Update(ref m) => (m, false),
    };
    before_write()?;
    let r = dns::put_a_record_set(
        client,
        &want.zone,
        &want.name,
        &want.addresses,
        TTL,
        metadata,
    )
    .await?;
    Ok(Outcome::new(want.id().to_string(), created, r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::dns::{ARecord, LinkProperties, RecordSetProperties, SubResource};

    const VNET: &str =
        "/subscriptions/s/resourceGroups/mc/providers/Microsoft.Network/virtualNetworks/aks-vnet";

    fn zone() -> ResourceId {
        dns::zone_id("s", "rg", "myhpccache.hpccache.internal")
    }

    fn up(deployment: &str) -> Caller {
        Caller {
            deployment: Some(deployment.into()),
            flags: Flags::UP,
        }
    }

    fn command() -> Caller {
        Caller {
            deployment: None,
            flags: Flags::DNS_CREATE,
        }
    }

    fn tagged(owner: Option<&str>) -> BTreeMap<String, String> {
        owner
            .map(|o| BTreeMap::from([(DEPLOYMENT_TAG.to_owned(), o.to_owned())]))
            .unwrap_or_default()
    }

    fn flag<T: std::fmt::Debug>(r: Result<T>) -> String {
        match r {
            Err(Error::InvalidInput(i)) => i.flag,
            other => panic!("{other:?}"),
        }
    }

    fn link_want(registration: bool) -> LinkWant {
        LinkWant {
            id: dns::link_id(&zone(), "aks-vnet-link"),
            vnet: VNET.into(),
            registration,
            tags: BTreeMap::new(),
        }
    }

    fn found_link(vnet: &str, registration: bool, owner: Option<&str>) -> VirtualNetworkLink {
        VirtualNetworkLink {
            id: link_want(false).id.to_string(),
            name: "aks-vnet-link".into(),
            tags: tagged(owner),
            properties: LinkProperties {
                virtual_network: Some(SubResource { id: vnet.into() }),
                registration_enabled: Some(registration),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn a_link_is_created_kept_or_updated() {
        let w = link_want(false);
        let c = up("a");
        assert_eq!(decide_link(&w, None, &c, false).unwrap().action(), "create");
        let same = found_link(&VNET.to_ascii_uppercase(), false, Some("b"));
        // Sharing a link that is right as it is is harmless.
        assert_eq!(
            decide_link(&w, Some(&same), &c, false).unwrap().action(),
            "none"
        );
        let ours = found_link(VNET, true, Some("a"));
        assert_eq!(
            decide_link(&w, Some(&ours), &c, false).unwrap().action(),
            "update"
        );
        let untagged = found_link(VNET, true, None);
        assert_eq!(
            decide_link(&w, Some(&untagged), &command(), false)
                .unwrap()
                .action(),
            "update"
        );
    }

    #[test]
    fn a_link_to_another_vnet_or_another_deployments_names_the_flag() {
        let w = link_want(false);
        let elsewhere = found_link("/subscriptions/s/x/virtualNetworks/other", false, None);
        assert_eq!(
            flag(decide_link(&w, Some(&elsewhere), &up("a"), false)),
            "--dns-zone"
        );
        assert_eq!(
            flag(decide_link(&w, Some(&elsewhere), &command(), false)),
            "--link-name"
        );
        let theirs = found_link(VNET, true, Some("b"));
        assert_eq!(
            flag(decide_link(&w, Some(&theirs), &up("a"), false)),
            "--dns-registration"
        );
        assert_eq!(
            flag(decide_link(&w, Some(&theirs), &command(), false)),
            "--dns-registration"
        );
        // Recorded as made by the caller: its to change, whatever the tag says.
        assert!(decide_link(&w, Some(&theirs), &up("a"), true).is_ok());
    }

    fn records_want() -> RecordsWant {
        RecordsWant {
            zone: zone(),
            name: "server".into(),
            addresses: vec!["10.0.0.1".into(), "10.0.0.2".into()],
            metadata: tagged(Some("a")),
        }
    }

    fn found_records(addresses: &[&str], owner: Option<&str>) -> RecordSet {
        RecordSet {
            id: records_want().id().to_string(),
            name: "server".into(),
            properties: RecordSetProperties {
                metadata: tagged(owner),
                a_records: addresses
                    .iter()
                    .map(|a| ARecord {
                        ipv4_address: (*a).into(),
                    })
                    .collect(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn records_are_created_kept_or_updated_keeping_someone_elses_metadata() {
        let w = records_want();
        let c = up("a");
        assert_eq!(
            decide_records(&w, None, &c, false).unwrap().action(),
            "create"
        );
        let same = found_records(&["10.0.0.2", "10.0.0.1"], Some("b"));
        assert_eq!(
            decide_records(&w, Some(&same), &c, false).unwrap().action(),
            "none"
        );
        let users = found_records(&["10.0.0.9"], None);
        let mut theirs = BTreeMap::new();
        theirs.insert("team".to_owned(), "x".to_owned());
        let mut users_tagged = users.clone();
        users_tagged.properties.metadata = theirs.clone();
        match decide_records(&w, Some(&users_tagged), &command(), false).unwrap() {
            RecordsDecision::Update(m) => assert_eq!(m, theirs),
            other => panic!("{other:?}"),
        }
        let mine = found_records(&["10.0.0.9"], Some("a"));
        match decide_records(&w, Some(&mine), &c, true).unwrap() {
            RecordsDecision::Update(m) => assert_eq!(m, w.metadata),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn records_of_another_deployment_are_never_changed() {
        let w = records_want();
        let theirs = found_records(&["10.0.0.9"], Some("b"));
        assert_eq!(
            flag(decide_records(&w, Some(&theirs), &up("a"), false)),
            "--dns-name"
        );
        // A step command is no deployment: every deployment's record set is another's.
        let a = found_records(&["10.0.0.9"], Some("a"));
        assert_eq!(
            flag(decide_records(&w, Some(&a), &command(), false)),
            "--record-name"
        );
        assert!(other_owner(&tagged(Some("a")), Some("a")).is_none());
        assert_eq!(other_owner(&tagged(Some("a")), None), Some("a"));
    }
}
