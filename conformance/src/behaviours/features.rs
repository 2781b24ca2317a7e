//! Features are data: what `features()` says matches what the calls do.

use wallet_core::{
    DescriptionHash, HoldInvoiceRequest, InvoiceRequest, WalletError, WalletFeature,
};

use crate::fixtures::{bounded, random_preimage};
use crate::verdict::{Stop, Verdict, fail};
use crate::{TestBed, ensure};

/// Every feature outside `features()` is refused with `Unsupported(feature)`; every feature in
/// it answers without `Unsupported`.
pub async fn features_agree_with_what_the_calls_do(bed: TestBed) -> Verdict {
    let features = bed.wallet.features();
    let deadline = bed.timing.event;
    for feature in WalletFeature::ALL {
        let answer: Result<(), WalletError> = match feature {
            WalletFeature::HoldInvoice => {
                let preimage = random_preimage();
                bounded(
                    deadline,
                    "create_hold_invoice",
                    bed.wallet.create_hold_invoice(HoldInvoiceRequest {
                        payment_hash: preimage.payment_hash(),
                        invoice: InvoiceRequest::new(1_000),
                    }),
                )
                .await?
                .map(drop)
            }
            WalletFeature::NodeManager => bounded(deadline, "node_info", bed.wallet.node_info())
                .await?
                .map(drop),
            WalletFeature::AmountlessInvoice => bounded(
                deadline,
                "create_invoice",
                bed.wallet.create_invoice(InvoiceRequest::amountless()),
            )
            .await?
            .map(drop),
            WalletFeature::DescriptionHash => bounded(
                deadline,
                "create_invoice",
                bed.wallet.create_invoice(
                    InvoiceRequest::new(1_000)
                        .description_hash(DescriptionHash::from_bytes([7; 32])),
                ),
            )
            .await?
            .map(drop),
            // Paying needs an invoice and money; `amountless_payments_follow_the_features`
            // checks this one.
            WalletFeature::AmountlessPayment => continue,
        };
        let refused = answer == Err(WalletError::Unsupported(feature));
        match (features.contains(feature), refused, answer) {
            (true, false, Ok(())) | (false, true, _) => {}
            (true, _, answer) => {
                return Err(fail(format!(
                    "{feature} is in features(), but the call gave {answer:?}"
                )));
            }
            (false, false, answer) => {
                return Err(fail(format!(
                    "{feature} is not in features(), but the call gave {answer:?} instead of Unsupported"
                )));
            }
        }
    }
    Ok(())
}

/// With `NODEMANAGER`, node info, channels and peers are well-formed; without it, all three are
/// `Unsupported`.
pub async fn node_manager_calls_work_or_are_unsupported(bed: TestBed) -> Verdict {
    let deadline = bed.timing.event;
    let info = bounded(deadline, "node_info", bed.wallet.node_info()).await?;
    let channels = bounded(deadline, "list_channels", bed.wallet.list_channels()).await?;
    let peers = bounded(deadline, "list_peers", bed.wallet.list_peers()).await?;
    if !bed.wallet.features().contains(WalletFeature::NodeManager) {
        let unsupported = WalletError::Unsupported(WalletFeature::NodeManager);
        ensure!(
            info.as_ref().err() == Some(&unsupported),
            "node_info: {info:?}"
        );
        ensure!(
            channels.as_ref().err() == Some(&unsupported),
            "list_channels: {channels:?}"
        );
        ensure!(
            peers.as_ref().err() == Some(&unsupported),
            "list_peers: {peers:?}"
        );
        return Err(Stop::Unsupported(bed.unsupported_reason(
            WalletFeature::NodeManager,
            "NODEMANAGER is not in features(), and every node-manager call says Unsupported",
        )));
    }
    let info = info.map_err(|err| fail(format!("node_info: {err}")))?;
    let is_node_id = |id: &str| id.len() == 66 && wallet_core::hex::decode(id).is_ok();
    ensure!(
        is_node_id(&info.pubkey),
        "node_info pubkey {:?}",
        info.pubkey
    );
    let channels = channels.map_err(|err| fail(format!("list_channels: {err}")))?;
    for channel in &channels {
        ensure!(
            is_node_id(&channel.peer_pubkey),
            "channel peer {:?}",
            channel.peer_pubkey
        );
        ensure!(
            channel
                .local_balance_msat
                .saturating_add(channel.remote_balance_msat)
                <= channel.capacity_msat,
            "channel balances exceed its capacity: {channel:?}"
        );
    }
    let peers = peers.map_err(|err| fail(format!("list_peers: {err}")))?;
    for peer in &peers {
        ensure!(is_node_id(&peer.pubkey), "peer {:?}", peer.pubkey);
    }
    let active = channels.iter().filter(|channel| channel.active).count();
    ensure!(
        usize::try_from(info.num_active_channels).is_ok_and(|count| count == active),
        "node_info says {} active channels, list_channels has {active}",
        info.num_active_channels
    );
    Ok(())
}
