//! Pinning lnd's certificate: lnd's `tls.cert` is its own CA, which rustls refuses as an end
//! entity, so the only safe check is "is it exactly this certificate". The handshake signatures
//! are still verified with the provider's algorithms.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};

use crate::config::CertificatePin;

/// The node presented another certificate than the pinned one.
#[derive(Debug)]
pub(crate) struct NotThePinnedCertificate;

impl std::fmt::Display for NotThePinnedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "the node's TLS certificate is not the pinned one (LND_GRPC_CERT or LND_GRPC_CERT_THUMBPRINT; if lnd regenerated tls.cert, copy the new one)",
        )
    }
}

impl std::error::Error for NotThePinnedCertificate {}

#[derive(Debug)]
pub(crate) struct PinnedCertificate {
    pinned: CertificatePin,
    provider: Arc<CryptoProvider>,
}

impl PinnedCertificate {
    pub(crate) fn new(pinned: CertificatePin, provider: Arc<CryptoProvider>) -> Self {
        Self { pinned, provider }
    }
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pinned.matches(end_entity.as_ref()) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(NotThePinnedCertificate)),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
