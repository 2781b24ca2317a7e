//! The seed inputs of the backends' fuzz targets (`--fuzz-seeds <dir>`): each call's
//! well-formed answer from the corpus tables, about the hash the harness asks about, in the
//! harness's input layout.

use std::path::Path;

use wallet_core::{HoldInvoiceRequest, InvoiceRequest, Preimage, Wallet};
use wallet_corpus::harness::{self, ASKED_PREIMAGE, OPS};
use wallet_fake::{FakeNetwork, FakeWallet, NodeConfig};

use crate::ops::{Op, Targets};

/// The harness's call for a corpus call, where the harness makes it.
fn harness_op(op: Op) -> Option<harness::Op> {
    Some(match op {
        Op::InvoiceStatus => harness::Op::InvoiceStatus,
        Op::PaymentStatus => harness::Op::PaymentStatus,
        Op::Status => harness::Op::Status,
        Op::CreateInvoice => harness::Op::CreateInvoice,
        Op::Cursor => harness::Op::Cursor,
        Op::NodeInfo => harness::Op::NodeInfo,
        Op::ListChannels => harness::Op::ListChannels,
        Op::ListPeers => harness::Op::ListPeers,
        Op::Pay | Op::Stream | Op::HoldInvoice | Op::SettleHold | Op::CancelHold => return None,
    })
}

/// Targets about the harness's hash: an invoice for what its `create_invoice` asks.
async fn targets() -> Result<Targets, String> {
    let network = FakeNetwork::new();
    let payee = FakeWallet::new(
        network
            .add_node(NodeConfig::new("fuzz-payee"))
            .map_err(|err| err.to_string())?,
    );
    let asked = Preimage::from_bytes(ASKED_PREIMAGE);
    let invoice = payee
        .create_hold_invoice(HoldInvoiceRequest {
            payment_hash: asked.payment_hash(),
            invoice: InvoiceRequest::new(21_000).memo("fuzz"),
        })
        .await
        .map_err(|err| err.to_string())?;
    Ok(Targets {
        own_invoice: asked.payment_hash(),
        own_preimage: asked,
        payable: invoice.payment_request,
        payable_hash: asked.payment_hash(),
        payable_preimage: asked,
        hold_preimage: Preimage::from_bytes([9; 32]),
    })
}

/// Writes every seed under `dir/<target>/`; returns how many.
pub(crate) async fn write(dir: &Path) -> Result<usize, String> {
    let targets = targets().await?;
    let mut written = 0;
    for (target, backend) in harness::TARGETS {
        let seeds = match backend {
            harness::Backend::Cln => crate::cln::fuzz_seeds(&targets),
            harness::Backend::Lnd => crate::lnd::fuzz_seeds(&targets),
            harness::Backend::Lnbits => crate::lnbits::fuzz_seeds(&targets),
        };
        let folder = dir.join(target);
        std::fs::create_dir_all(&folder).map_err(|err| format!("{}: {err}", folder.display()))?;
        for (index, (op, answer)) in seeds.into_iter().enumerate() {
            let Some(pick) = harness_op(op).and_then(|op| OPS.iter().position(|o| *o == op)) else {
                continue;
            };
            let pick = u8::try_from(pick).map_err(|err| err.to_string())?;
            let file = folder.join(format!("seed-{index:02}-{op:?}"));
            std::fs::write(&file, [&[pick], answer.as_slice()].concat())
                .map_err(|err| format!("{}: {err}", file.display()))?;
            written += 1;
        }
    }
    Ok(written)
}
