//! TLS for the PostgreSQL connections, with rustls (ring): tokio-postgres asks a
//! `MakeTlsConnect` to wrap the socket after its SSLRequest. What is verified follows libpq's
//! `sslmode`: prefer and require encrypt without checking the certificate, verify-ca checks it
//! against the CA (`pgssTlsCACert`, else the public CAs), verify-full also that it names the
//! host connected to. A client certificate is offered when configured.
//! Not for: parsing the settings (`settings::postgres`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

use crate::settings::postgres::{certificates, private_key, PgConnection, SslMode};

/// Makes a TLS session per connection, as the connection's `sslmode` says.
#[derive(Clone)]
pub struct Connector {
    config: Arc<ClientConfig>,
}

impl Connector {
    /// The rustls configuration for `connection`; Err when its TLS material does not load
    /// (checked with the settings already, so this is a safety net).
    pub fn new(connection: &PgConnection) -> Result<Connector, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?;
        let tls = connection.tls();
        let builder = if connection.ssl_mode().verifies() {
            let mut roots = RootCertStore::empty();
            match &tls.ca_pem {
                Some(pem) => {
                    for cert in certificates(pem).map_err(|e| format!("pgssTlsCACert: {e}"))? {
                        roots.add(cert).map_err(|e| format!("pgssTlsCACert: {e}"))?;
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().map_err(|e| format!("TLS setup: {e}"))?;
            let verifier: Arc<dyn ServerCertVerifier> = match connection.ssl_mode() {
                SslMode::VerifyCa => Arc::new(AnyName(webpki)),
                _ => webpki,
            };
            builder.dangerous().with_custom_certificate_verifier(verifier)
        } else {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(Unverified(provider)))
        };
        let config = match &tls.client_pem {
            Some((cert, key)) => {
                let chain = certificates(cert).map_err(|e| format!("pgssTlsClientCert: {e}"))?;
                let key = private_key(key).map_err(|e| format!("pgssTlsClientKey: {e}"))?;
                builder.with_client_auth_cert(chain, key).map_err(|_| "pgssTlsClientKey does not belong to pgssTlsClientCert, or cannot sign".to_string())?
            }
            None => builder.with_no_client_auth(),
        };
        Ok(Connector { config: Arc::new(config) })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> MakeTlsConnect<S> for Connector {
    type Stream = Stream<S>;
    type TlsConnect = Handshake;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Handshake, Self::Error> {
        Ok(Handshake { config: self.config.clone(), server_name: ServerName::try_from(domain)?.to_owned() })
    }
}

/// One TLS handshake with a server named `server_name`.
pub struct Handshake {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> TlsConnect<S> for Handshake {
    type Stream = Stream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Stream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move { tokio_rustls::TlsConnector::from(self.config).connect(self.server_name, stream).await.map(Stream) })
    }
}

/// A TLS session over a socket.
pub struct Stream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for Stream<S> {
    /// None: tls-server-end-point hashes the certificate with its own signature's hash, which
    /// would need an X.509 parser; SCRAM then runs without channel binding (as with libpq's
    /// `channel_binding=prefer` against a server that offers none).
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// verify-ca: the chain must lead to the CA; the name in the certificate is not checked.
/// (webpki checks the chain before the name, so a name mismatch means the chain was good.)
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(&self, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>], server_name: &ServerName<'_>, ocsp: &[u8], now: UnixTime) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. })) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// prefer and require: encrypted, the certificate not checked (libpq's meaning of these modes);
/// the handshake's signatures still are.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(&self, _: &CertificateDer<'_>, _: &[CertificateDer<'_>], _: &ServerName<'_>, _: &[u8], _: UnixTime) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The certificate problem in a connection error, in words a user can act on; None when the
/// error is not about the certificate.
pub fn certificate_problem(error: &(dyn std::error::Error + 'static), connection: &PgConnection) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        let found = current.downcast_ref::<rustls::Error>().or_else(|| current.downcast_ref::<io::Error>().and_then(|io| io.get_ref()).and_then(|inner| inner.downcast_ref::<rustls::Error>()));
        if let Some(rustls::Error::InvalidCertificate(problem)) = found {
            let ca = if connection.tls().ca_pem.is_some() { "the CA in pgssTlsCACert" } else { "a public CA, and no pgssTlsCACert is set" };
            let mode = connection.ssl_mode().as_str();
            return Some(match problem {
                CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                    format!("the server's TLS certificate is not signed by {ca} (sslmode={mode}): set pgssTlsCACert to the CA that signed it")
                }
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => format!(
                    "the server's TLS certificate does not name the host {} (sslmode=verify-full): connect with a host name the certificate lists, or use sslmode=verify-ca",
                    connection.host()
                ),
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => format!("the server's TLS certificate has expired (sslmode={mode})"),
                other => format!("the server's TLS certificate was refused (sslmode={mode}): {other:?}"),
            });
        }
        if let Some(rustls::Error::AlertReceived(alert)) = found {
            return Some(format!("the server refused the TLS session ({alert:?}): does it want a client certificate (pgssTlsClientCert, pgssTlsClientKey) signed by a CA it trusts?"));
        }
        cause = current.source();
    }
    None
}
