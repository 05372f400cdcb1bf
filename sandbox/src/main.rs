//! `hpccache-sandbox`: run the emulated ARM + Kubernetes APIs standalone, manage world files.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use hpccache_sandbox::arm::faults::Faults;
use hpccache_sandbox::kube::LustreCsi;
use hpccache_sandbox::sandbox::{DEFAULT_TIME_SCALE, Sandbox, SandboxConfig, SandboxError};
use hpccache_sandbox::world::{
    ClusterNetwork, ClusterSpec, DEFAULT_KUBERNETES_VERSION, DEFAULT_LOCATION, World,
};

#[derive(Parser)]
#[command(
    name = "hpccache-sandbox",
    version,
    about = "Emulated Azure Resource Manager and Kubernetes API on loopback"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve ARM, Graph and the clusters' Kubernetes APIs until Ctrl-C.
    Serve {
        /// Port on 127.0.0.1 (a free one when omitted).
        #[arg(long)]
        port: Option<u16>,
        /// World file: loaded when it exists, saved periodically and on exit.
        #[arg(long)]
        world: Option<PathBuf>,
        /// Multiplier on Azure's durations (0 = instant).
        #[arg(long, default_value_t = DEFAULT_TIME_SCALE)]
        time_scale: f64,
        /// Faults, e.g. `500:0.1,503:0.05,429:0.1,drop:0.05,fail-cache-create=AscInternalError,stop-after=42,seed=7`.
        #[arg(long)]
        faults: Option<String>,
        /// Request log as JSON lines.
        #[arg(long)]
        log: Option<PathBuf>,
        /// Write a kubeconfig for the default cluster here.
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
    },
    /// Manage world files.
    World {
        #[command(subcommand)]
        command: WorldCommand,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Network {
    /// An AKS-managed vnet in the node resource group.
    Managed,
    /// Azure CNI overlay: a managed vnet, pods in 10.244.0.0/16.
    Overlay,
    /// Bring your own vnet (`--vnet-name`, `--vnet-prefix`, `--subnet-name`, `--subnet-prefix`).
    Byo,
}

/// The Azure Lustre CSI driver in a new cluster.
#[derive(Clone, Copy, ValueEnum)]
enum LustreCsiArg {
    /// Not installed (AKS does not ship it): Lustre volumes wait for an attach that never comes.
    Absent,
    /// Installed as the upstream install script does; its node pods become ready.
    Installed,
    /// Installed on Ubuntu 24.04 nodes its Lustre client does not support: node pods
    /// crash-loop and the nodes keep the driver's startup taint.
    NotReady,
}

impl From<LustreCsiArg> for LustreCsi {
    fn from(a: LustreCsiArg) -> Self {
        match a {
            LustreCsiArg::Absent => LustreCsi::Absent,
            LustreCsiArg::Installed => LustreCsi::Installed,
            LustreCsiArg::NotReady => LustreCsi::NotReady,
        }
    }
}

// Parsed once; the size of a CLI enum does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum WorldCommand {
    /// Write a fresh world (the guide's starting point).
    Init { file: PathBuf },
    /// Add a managed cluster to a world file.
    AddCluster {
        /// The world file (a fresh world when it does not exist yet).
        file: PathBuf,
        /// The managed cluster's name.
        #[arg(long)]
        name: String,
        /// Its resource group (created when missing).
        #[arg(long, short = 'g', default_value = "myResourceGroup")]
        resource_group: String,
        #[arg(long, short = 'l', default_value = DEFAULT_LOCATION)]
        location: String,
        /// How the nodes' network is laid out.
        #[arg(long, value_enum, default_value = "managed")]
        network: Network,
        /// With `--network byo`: the vnet, in the cluster's resource group.
        #[arg(long, default_value = "myVnet")]
        vnet_name: String,
        /// With `--network byo`: the vnet's address space.
        #[arg(long, default_value = "10.1.0.0/16")]
        vnet_prefix: String,
        /// With `--network byo`: the nodes' subnet.
        #[arg(long, default_value = "aks-subnet")]
        subnet_name: String,
        /// With `--network byo`: the nodes' subnet prefix.
        #[arg(long, default_value = "10.1.0.0/22")]
        subnet_prefix: String,
        /// Nodes in the cluster's one node pool.
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        #[arg(long, default_value = DEFAULT_KUBERNETES_VERSION)]
        kubernetes_version: String,
        /// The Azure Lustre CSI driver (azurelustre.csi.azure.com) in the cluster.
        #[arg(long, value_enum, default_value = "absent")]
        lustre_csi: LustreCsiArg,
    },
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::World { command } => world(command),
        Command::Serve {
            port,
            world,
            time_scale,
            faults,
            log,
            kubeconfig,
        } => {
            match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(serve(port, world, time_scale, faults, log, kubeconfig)),
                Err(e) => Err(SandboxError::Start(e)),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)]
fn world(command: WorldCommand) -> Result<(), SandboxError> {
    match command {
        WorldCommand::Init { file } => {
            World::new_default().save(&file)?;
            println!("{}", file.display());
            Ok(())
        }
        WorldCommand::AddCluster {
            file,
            name,
            resource_group,
            location,
            network,
            vnet_name,
            vnet_prefix,
            subnet_name,
            subnet_prefix,
            nodes,
            kubernetes_version,
            lustre_csi,
        } => {
            let mut w = World::load_or_default(&file)?;
            let network = match network {
                Network::Managed => ClusterNetwork::Managed,
                Network::Overlay => ClusterNetwork::Overlay,
                Network::Byo => ClusterNetwork::BringYourOwn {
                    vnet_name,
                    address_prefix: vnet_prefix,
                    subnet_name,
                    subnet_prefix,
                },
            };
            let mut spec = ClusterSpec::new(&name, &resource_group)
                .with_location(&location)
                .with_network(network)
                .with_lustre_csi(lustre_csi.into());
            spec.node_count = nodes;
            spec.kubernetes_version = kubernetes_version;
            let id = w.add_cluster(spec)?;
            w.save(&file)?;
            println!("{id}");
            Ok(())
        }
    }
}

#[allow(clippy::print_stdout)]
async fn serve(
    port: Option<u16>,
    world_file: Option<PathBuf>,
    time_scale: f64,
    faults: Option<String>,
    log: Option<PathBuf>,
    kubeconfig: Option<PathBuf>,
) -> Result<(), SandboxError> {
    let world = match &world_file {
        Some(f) => World::load_or_default(f)?,
        None => World::new_default(),
    };
    let faults = match faults {
        Some(spec) => Faults::parse(&spec)?,
        None => Faults::none(),
    };
    let config = SandboxConfig {
        world,
        time_scale,
        faults,
        log_file: log,
        port,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await?;
    println!("ARM endpoint:   {}", sandbox.arm_endpoint());
    println!("Graph endpoint: {}", sandbox.graph_endpoint());
    println!("Token:          {}", sandbox.token());
    let clusters: Vec<(String, String)> = sandbox.with_world(|w| {
        w.clusters
            .values()
            .map(|c| (c.arm_id.clone(), c.name.clone()))
            .collect()
    });
    for (id, name) in &clusters {
        if let Some(url) = sandbox.kube_url(id) {
            println!("Cluster {name}: {url}");
        }
    }
    if let (Some(path), Some((id, name))) = (&kubeconfig, clusters.first())
        && let Some(url) = sandbox.kube_url(id)
    {
        let rg = id.split('/').nth(4).unwrap_or_default();
        let text = hpccache_sandbox::kube::kubeconfig(
            &url,
            &sandbox.token(),
            name,
            &format!("clusterUser_{rg}_{name}"),
        );
        std::fs::write(path, text).map_err(|source| SandboxError::Io {
            path: path.display().to_string(),
            source,
        })?;
        println!("Kubeconfig:     {}", path.display());
    }
    println!(
        "Try: curl -H 'Authorization: Bearer {}' '{}/subscriptions?api-version=2022-12-01'",
        sandbox.token(),
        sandbox.arm_endpoint()
    );
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(SandboxError::Start)?;
    // A save writes the whole world (megabytes once clusters hold thousands of objects):
    // only when something changed since the last one.
    let mut saved = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Some(f) = &world_file {
                    let revision = sandbox.revision();
                    if saved != Some(revision) {
                        sandbox.save(f)?;
                        saved = Some(revision);
                    }
                }
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    if let Some(f) = &world_file {
        sandbox.save(f)?;
    }
    sandbox.shutdown();
    Ok(())
}
