//! `dns create` (private zone, vnet link, one A record set with every mount address) and
//! `dns show`.

use std::collections::BTreeMap;

use clap::Subcommand;
use hpccache_core::InvalidInput;
use hpccache_core::azure::dns::{self, PrivateZone, RecordSet};
use hpccache_core::azure::{ResourceId, cache};
use hpccache_core::converge::dns::{self as converge, Caller, Flags, LinkWant, RecordsWant};
use hpccache_core::deploy::spec::default_dns_zone;
use hpccache_core::spec::names;
use serde_json::json;

use super::{print, shape};
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::{Session, Wait};

#[derive(Debug, Subcommand)]
pub enum DnsCommand {
    /// Create the private DNS zone, link it to the vnet (registration off unless asked) and
    /// write ONE A record set holding every mount address of the cache (idempotent).
    ///
    /// The link is waited for until it works (virtualNetworkLinkState Completed), also one that
    /// was already there. Nothing is written when the link of that name links another vnet, or
    /// when the link or the record set would change what a deployment made by `up` owns (its
    /// hpccache-deployment tag): converge that deployment with `up`, or choose other names. A
    /// record set of someone else keeps its metadata when its addresses are rewritten.
    #[command(after_help = "\
Examples:
  The guide's cache under the round-robin name server.myhpccache.hpccache.internal:
    az-hpccache-ext dns create -g myResourceGroup --vnet $VNET_ID --cache-name MyHpcCache")]
    Create {
        /// Resource group of the zone and of the cache.
        #[arg(
            short = 'g',
            long,
            env = "AZURE_DEFAULTS_GROUP",
            hide_env_values = true
        )]
        resource_group: String,
        /// The private DNS zone [default: <cache name, lower-cased>.hpccache.internal; not
        /// .local, which the nodes' systemd-resolved sends to mDNS, not to the vnet's DNS].
        #[arg(long)]
        zone_name: Option<String>,
        /// Resource id of the virtual network to link (the cluster's; see `aks show-network`).
        #[arg(long)]
        vnet: String,
        /// Name of the A record set.
        #[arg(long, default_value = "server")]
        record_name: String,
        /// The cache whose mount addresses the record set holds.
        #[arg(long)]
        cache_name: String,
        /// Name of the vnet link [default: <vnet name>-link].
        #[arg(long)]
        link_name: Option<String>,
        /// Let the vnet's VMs register their own names in the zone (a vnet allows one such link).
        #[arg(long)]
        dns_registration: bool,
    },
    /// Show a private DNS zone, or one of its A record sets.
    #[command(after_help = "\
Examples:
    az-hpccache-ext dns show -g myResourceGroup --zone-name myhpccache.local --record-name server")]
    Show {
        #[arg(
            short = 'g',
            long,
            env = "AZURE_DEFAULTS_GROUP",
            hide_env_values = true
        )]
        resource_group: String,
        /// The private DNS zone.
        #[arg(long)]
        zone_name: String,
        /// An A record set of the zone.
        #[arg(long)]
        record_name: Option<String>,
    },
}

pub fn run(cli: &Cli, cmd: &DnsCommand) -> Result<(), CliError> {
    match cmd {
        DnsCommand::Create {
            resource_group,
            zone_name,
            vnet,
            record_name,
            cache_name,
            link_name,
            dns_registration,
        } => {
            let rg = names::resource_group("--resource-group", resource_group)?;
            let cache_name = names::cache("--cache-name", cache_name)?;
            let zone_name = match zone_name {
                Some(z) => names::private_dns_zone("--zone-name", z)?,
                None => default_dns_zone(&cache_name),
            };
            let record = names::dns_record_set("--record-name", record_name)?;
            let vnet_id = ResourceId::parse(vnet).ok().filter(|v| v.is_type("Microsoft.Network/virtualNetworks")).ok_or_else(|| {
                InvalidInput::new("--vnet", format!("'{vnet}' is not a virtual network resource id"))
                    .hint("Pass the id printed by `az-hpccache-ext aks show-network --query vnet.id -o tsv`")
            })?;
            let link_name = match link_name {
                Some(l) => names::virtual_network("--link-name", l)?,
                None => format!("{}-link", vnet_id.name()),
            };
            let session = Session::open(cli)?;
            let result = session.run(async {
                let client = &session.arm;
                let sub = &session.subscription_id;
                let cache =
                    cache::get_cache(client, &cache::cache_id(sub, &rg, &cache_name)).await?;
                let mut addresses = cache.properties.mount_addresses.clone();
                if addresses.is_empty() {
                    return Err(CliError::Runtime(format!(
                        "cache {cache_name} has no mount addresses yet (provisioning state {})",
                        cache
                            .properties
                            .provisioning_state
                            .as_deref()
                            .unwrap_or("unknown")
                    ))
                    .with_hint(format!(
                        "Wait for it: az-hpccache-ext cache wait -g {rg} -n {cache_name} --created"
                    )));
                }
                addresses.sort();
                let policy = session.poll_policy(Wait::Resource);
                let tags = BTreeMap::new();
                let caller = Caller {
                    deployment: None,
                    flags: Flags::DNS_CREATE,
                };
                let zone_id = dns::zone_id(sub, &rg, &zone_name);
                let link = LinkWant {
                    id: dns::link_id(&zone_id, &link_name),
                    vnet: vnet_id.to_string(),
                    registration: *dns_registration,
                    tags: tags.clone(),
                };
                let records = RecordsWant {
                    zone: zone_id.clone(),
                    name: record.clone(),
                    addresses,
                    metadata: tags.clone(),
                };
                // Everything is read and judged before the first write: a link or record set
                // that may not be changed leaves no new zone or link behind.
                let zone = dns::get_zone(client, &zone_id).await?;
                let (found_link, found_records) = match &zone {
                    Some(_) => (
                        dns::get_link(client, &link.id).await?,
                        dns::get_a_record_set(client, &zone_id, &record).await?,
                    ),
                    None => (None, None),
                };
                let link_decision =
                    converge::decide_link(&link, found_link.as_ref(), &caller, false)?;
                let records_decision =
                    converge::decide_records(&records, found_records.as_ref(), &caller, false)?;
                let zone =
                    converge::zone(client, &zone_id, zone, &tags, &policy, &|| Ok(())).await?;
                let l = converge::link(client, &link, link_decision, &policy, &session.progress)
                    .await?;
                let r = converge::records(client, &records, records_decision, &|| Ok(())).await?;
                Ok(json!({
                    "zone": shape::flat(&zone.resource),
                    "virtualNetworkLink": shape::flat(&l.resource),
                    "recordSet": shape::flat(&r.resource),
                }))
            });
            session.close()?;
            print(cli, &result?)
        }
        DnsCommand::Show {
            resource_group,
            zone_name,
            record_name,
        } => {
            let rg = names::resource_group("--resource-group", resource_group)?;
            let zone_name = names::private_dns_zone("--zone-name", zone_name)?;
            let record = record_name
                .as_deref()
                .map(|r| names::dns_record_set("--record-name", r))
                .transpose()?;
            let session = Session::open(cli)?;
            let result = session.run(async {
                let zone_id = dns::zone_id(&session.subscription_id, &rg, &zone_name);
                let v = match &record {
                    Some(r) => shape::flat(
                        &session
                            .arm
                            .get_json::<RecordSet>(
                                dns::a_record_set_id(&zone_id, r).as_str(),
                                dns::API_VERSION,
                            )
                            .await
                            .map_err(CliError::not_found_is_3)?,
                    ),
                    None => shape::flat(
                        &session
                            .arm
                            .get_json::<PrivateZone>(zone_id.as_str(), dns::API_VERSION)
                            .await
                            .map_err(CliError::not_found_is_3)?,
                    ),
                };
                Ok(v)
            });
            session.close()?;
            print(cli, &result?)
        }
    }
}
