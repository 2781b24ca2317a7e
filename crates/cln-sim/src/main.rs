//! `cln-sim`: a lightningd simulator on a unix socket, for pointing any Core Lightning client at.

use std::path::PathBuf;

use clap::Parser;
use cln_sim::ClnSimulator;
use wallet_fake::{FakeNetwork, NodeConfig};

/// Serves simulated lightningd nodes of one in-memory Lightning network on unix sockets.
#[derive(Debug, Parser)]
#[command(name = "cln-sim", version, about)]
struct Args {
    /// lightningd's directory; the socket is <dir>/<network>/lightning-rpc.
    #[arg(long, default_value = "cln-sim")]
    dir: PathBuf,
    /// The node's alias (also its key's secret).
    #[arg(long, default_value = "carol")]
    alias: String,
    /// Also serve a second node ("dave", in <dir>/dave) so the two can pay each other.
    #[arg(long)]
    peer: bool,
    /// The network: regtest, bitcoin, testnet or signet.
    #[arg(long, default_value = "regtest")]
    network: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cln-sim: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let currency =
        wallet_fake::settings::parse_currency(&args.network).map_err(|err| err.to_string())?;
    let network = FakeNetwork::new();
    let mut nodes = vec![(args.alias.clone(), args.dir.clone())];
    if args.peer {
        nodes.push(("dave".to_owned(), args.dir.join("dave")));
    }
    let mut simulators = Vec::new();
    for (alias, dir) in nodes {
        let node = network
            .add_node(NodeConfig::new(alias.as_str()).currency(currency.clone()))
            .map_err(|err| err.to_string())?;
        let simulator = ClnSimulator::start(node, dir)
            .await
            .map_err(|err| err.to_string())?;
        let socket = simulator.socket_path().display().to_string();
        println!("{alias}: lightningd ({}) on {socket}", simulator.network());
        println!("  pubkey           {}", simulator.node().pubkey_hex());
        println!("  lightning-cli    lightning-cli --rpc-file {socket} getinfo");
        println!(
            "  LNbits settings  LNBITS_BACKEND_WALLET_CLASS=CoreLightningWallet CORELIGHTNING_RPC={socket}"
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
