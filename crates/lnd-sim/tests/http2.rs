//! lnd-sim at the HTTP/2 level, below any gRPC client: what leaves the server and when, as grpc-go
//! sends it.

// Helpers outside #[test] functions may panic too: a failed helper is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use lnd_sim::{LndSimulator, SimOptions};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use wallet_fake::{FakeNetwork, NewInvoice, NodeConfig};

struct Served {
    simulator: LndSimulator,
    dir: std::path::PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn serve(name: &str) -> Served {
    let dir = std::env::temp_dir().join(format!("lnd-sim-h2-{name}-{}", std::process::id()));
    let node = FakeNetwork::new().add_node(NodeConfig::new(name)).unwrap();
    let simulator = LndSimulator::start(node, SimOptions::in_dir(dir.clone()))
        .await
        .unwrap();
    Served { simulator, dir }
}

/// An HTTP/2 connection over TLS (ALPN h2) that trusts the simulator's certificate.
async fn connect(served: &Served) -> h2::client::SendRequest<Bytes> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pem = std::fs::read(&served.simulator.files().tls_cert).unwrap();
    let pinned = CertificateDer::from_pem_slice(&pem).unwrap().into_owned();
    let mut config = rustls::ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned(pinned)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", served.simulator.port()))
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    let (client, connection) = h2::client::handshake(tls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Trusts exactly the simulator's self-signed certificate (lnd's is a CA, which webpki refuses
/// as an end entity), as lnd clients pin it.
#[derive(Debug)]
struct Pinned(CertificateDer<'static>);

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.0.as_ref() {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("not the pinned certificate".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        algorithms().supported_schemes()
    }
}

fn algorithms() -> rustls::crypto::WebPkiSupportedAlgorithms {
    rustls::crypto::ring::default_provider().signature_verification_algorithms
}

/// A gRPC call with an empty request message and the admin macaroon.
fn grpc_request(served: &Served, path: &str) -> http::Request<()> {
    let macaroon =
        wallet_core::hex::encode(&std::fs::read(&served.simulator.files().admin_macaroon).unwrap());
    http::Request::post(format!(
        "https://127.0.0.1:{}{path}",
        served.simulator.port()
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .header("macaroon", macaroon)
    .body(())
    .unwrap()
}

/// An empty protobuf message in gRPC's length-prefixed framing.
const EMPTY_MESSAGE: &[u8] = &[0, 0, 0, 0, 0];

#[tokio::test]
async fn a_quiet_server_stream_sends_no_headers_until_its_first_message() {
    let served = serve("quiet").await;
    let mut client = connect(&served).await.ready().await.unwrap();
    let (response, mut body) = client
        .send_request(
            grpc_request(&served, "/lnrpc.Lightning/SubscribeInvoices"),
            false,
        )
        .unwrap();
    body.send_data(Bytes::from_static(EMPTY_MESSAGE), true)
        .unwrap();
    tokio::pin!(response);
    // Nothing happens on the node: like grpc-go, no HEADERS frame leaves.
    assert!(
        tokio::time::timeout(Duration::from_millis(800), &mut response)
            .await
            .is_err(),
        "response headers arrived before any message"
    );
    served
        .simulator
        .node()
        .create_invoice(NewInvoice {
            amount_msat: Some(1_000),
            ..NewInvoice::default()
        })
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), response)
        .await
        .expect("the headers came with the first message")
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/grpc");
}

#[tokio::test]
async fn a_method_outside_the_subset_is_unimplemented_not_a_macaroon_error() {
    let served = serve("unimplemented").await;
    let mut client = connect(&served).await.ready().await.unwrap();
    for (path, with_macaroon) in [
        ("/lnrpc.Lightning/SendCoins", true),
        ("/lnrpc.Lightning/SendCoins", false),
    ] {
        let mut request = grpc_request(&served, path);
        if !with_macaroon {
            request.headers_mut().remove("macaroon");
        }
        let (response, mut body) = client.send_request(request, false).unwrap();
        body.send_data(Bytes::from_static(EMPTY_MESSAGE), true)
            .unwrap();
        let response = tokio::time::timeout(Duration::from_secs(5), response)
            .await
            .unwrap()
            .unwrap();
        // A trailers-only answer: the status is in the headers.
        assert_eq!(
            response.headers()["grpc-status"],
            "12",
            "{path} (macaroon: {with_macaroon}): {:?}",
            response.headers()
        );
    }
}
