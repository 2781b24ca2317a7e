//! The JSON forms of the public types: what `lnwallet --json` prints and scripts parse. A change
//! here is a breaking change for them.

use wallet_core::{
    FailureReason, Features, InvoiceResponse, InvoiceStatus, PaidInvoice, PaymentHash,
    PaymentResponse, PaymentStatus, Preimage, StatusResponse, StreamCursor, WalletFeature,
};

fn preimage() -> Preimage {
    Preimage::from_bytes([0x11; 32])
}

#[test]
fn invoice_states_serialise_with_a_state_tag() {
    let states = vec![
        InvoiceStatus::Pending,
        InvoiceStatus::Held {
            amount_received_msat: 5_000,
        },
        InvoiceStatus::Paid {
            amount_received_msat: 5_000,
            preimage: preimage(),
            paid_at: 1_795_925_743,
        },
        InvoiceStatus::Expired,
        InvoiceStatus::Cancelled,
        InvoiceStatus::Unknown,
    ];
    insta::assert_json_snapshot!(states);
}

#[test]
fn payment_responses_serialise_with_the_checking_id_and_a_state_tag() {
    let checking_id = preimage().payment_hash();
    let responses: Vec<_> = [
        PaymentStatus::Pending,
        PaymentStatus::Succeeded {
            preimage: preimage(),
            fee_msat: 1_000,
        },
        PaymentStatus::Failed {
            reason: FailureReason::NoRoute,
        },
        PaymentStatus::Failed {
            reason: FailureReason::Other("node said no".into()),
        },
        PaymentStatus::Unknown,
    ]
    .into_iter()
    .map(|status| PaymentResponse {
        checking_id,
        status,
    })
    .collect();
    insta::assert_json_snapshot!(responses);
}

#[test]
fn invoices_balances_stream_items_and_features_serialise_flat() {
    let payment_hash = PaymentHash::from_bytes([0x22; 32]);
    insta::assert_json_snapshot!(serde_json::json!({
        "status": StatusResponse { balance_msat: 1_000_000 },
        "invoice": InvoiceResponse {
            checking_id: payment_hash,
            payment_request: "lnbcrt10n1...".into(),
            expires_at: 1_795_929_343,
        },
        "paid": PaidInvoice {
            payment_hash,
            amount_received_msat: 21_000,
            paid_at: 1_795_925_743,
            cursor: StreamCursor::from_index(7),
        },
        "features": Features::NONE.with(WalletFeature::HoldInvoice).with(WalletFeature::NodeManager),
    }));
}
