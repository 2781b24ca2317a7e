//! The subset of lnd's gRPC API (lnd v0.21) a Lightning funding source uses, compiled from the
//! `.proto` files in `proto/` (written for this project from lnd's wire facts) with protox, so no
//! `protoc` is needed.
//!
//! Feature `client` (default) generates `LightningClient`, `RouterClient` and `InvoicesClient`;
//! feature `server` generates the service traits and servers the lnd simulator implements.
//! Both sides share these types, so they cannot drift apart.

/// `lnrpc`: the main Lightning service.
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
pub mod lnrpc {
    tonic::include_proto!("lnrpc");
}

/// `routerrpc`: payments.
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
pub mod routerrpc {
    tonic::include_proto!("routerrpc");
}

/// `invoicesrpc`: hold invoices.
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
pub mod invoicesrpc {
    tonic::include_proto!("invoicesrpc");
}
