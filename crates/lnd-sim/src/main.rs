//! `lnd-sim`: an lnd simulator on loopback, for pointing any lnd client at.

use std::path::PathBuf;

use clap::Parser;
use lnd_sim::{LndSimulator, SimOptions};
use wallet_fake::{FakeNetwork, NodeConfig};

/// Serves simulated lnd nodes of one in-memory Lightning network on loopback.
#[derive(Debug, Parser)]
#[command(name = "lnd-sim", version, about)]
struct Args {
    /// The lnd directory to write tls.cert and the macaroons into.
    #[arg(long, default_value = "lnd-sim")]
    dir: PathBuf,
    /// The gRPC port of the first node.
    #[arg(long, default_value_t = 10009)]
    port: u16,
    /// The node's alias (also its key's secret).
    #[arg(long, default_value = "alice")]
    alias: String,
    /// Also serve a second node of the same network on this port, so the two can pay each other.
    #[arg(long)]
    peer_port: Option<u16>,
    /// The network: regtest, bitcoin, testnet, signet or simnet.
    #[arg(long, default_value = "regtest")]
    network: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("lnd-sim: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let currency =
        wallet_fake::settings::parse_currency(&args.network).map_err(|err| err.to_string())?;
    let network = FakeNetwork::new();
    let mut nodes = vec![(args.alias.clone(), args.dir.clone(), args.port)];
    if let Some(peer_port) = args.peer_port {
        nodes.push(("bob".to_owned(), args.dir.join("bob"), peer_port));
    }
    let mut simulators = Vec::new();
    for (alias, dir, port) in nodes {
        let node = network
            .add_node(NodeConfig::new(alias.as_str()).currency(currency.clone()))
            .map_err(|err| err.to_string())?;
        let simulator = LndSimulator::start(
            node,
            SimOptions {
                dir,
                port: Some(port),
            },
        )
        .await
        .map_err(|err| err.to_string())?;
        let files = simulator.files();
        println!(
            "{alias}: lnd on {} ({})",
            simulator.address(),
            simulator.network()
        );
        println!("  pubkey           {}", simulator.node().pubkey_hex());
        println!("  tls.cert         {}", files.tls_cert.display());
        println!("  admin.macaroon   {}", files.admin_macaroon.display());
        println!("  invoice.macaroon {}", files.invoice_macaroon.display());
        println!(
            "  lncli            lncli --rpcserver {} --lnddir {} --network {}",
            simulator.address(),
            files.dir.display(),
            simulator.network()
        );
        println!(
            "  LNbits settings  LNBITS_BACKEND_WALLET_CLASS=LndWallet LND_GRPC_ENDPOINT=127.0.0.1 LND_GRPC_PORT={} LND_GRPC_CERT={} LND_GRPC_MACAROON={}",
            simulator.port(),
            files.tls_cert.display(),
            files.admin_macaroon.display()
        );
        simulators.push(simulator);
    }
    println!("serving; Ctrl-C to stop");
    tokio::signal::ctrl_c()
        .await
        .map_err(|err| err.to_string())?;
    for simulator in &simulators {
        simulator.stop().await;
    }
    Ok(())
}
