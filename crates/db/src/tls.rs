//! TLS over rustls (with the ring provider) for PostgreSQL: how much of the
//! server's certificate is checked, which roots it is checked against, and the
//! connector tokio-postgres drives.
//!
//! MySQL and MariaDB use mysql_async's own rustls connector (see `mysql.rs`);
//! both link the same rustls.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Nothing: any certificate is accepted (libpq's `require`, MySQL's
    /// `REQUIRED`). The traffic is encrypted, but a machine in the middle
    /// can pose as the server.
    Nothing,
    /// The chain up to a trusted root, but not the host name (`verify-ca`, `VERIFY_CA`).
    Chain,
    /// The chain and the host name (`verify-full`, `VERIFY_IDENTITY`).
    ChainAndName,
}

/// The roots a certificate chain is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// The Mozilla roots built into rev (`webpki-roots`): public CAs only.
    BuiltIn,
    /// The certificates of a PEM file (`sslrootcert=`, `ssl-ca=`).
    File(PathBuf),
}

impl fmt::Display for Roots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Roots::BuiltIn => f.write_str("the built-in public roots"),
            Roots::File(path) => write!(f, "the roots in {}", path.display()),
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads the certificates of a PEM file, with the path in any error.
pub fn read_pem_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "cannot read the root certificate file {}: {e}",
            path.display()
        )
    })?;
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        certs.push(cert.map_err(|e| {
            format!(
                "the root certificate file {} is not valid PEM: {e}",
                path.display()
            )
        })?);
    }
    if certs.is_empty() {
        return Err(format!(
            "the root certificate file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}

fn root_store(roots: &Roots) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::BuiltIn => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Roots::File(path) => {
            for cert in read_pem_certificates(path)? {
                store.add(cert).map_err(|e| {
                    format!(
                        "a certificate in {} cannot serve as a root: {e}",
                        path.display()
                    )
                })?;
            }
        }
    }
    Ok(store)
}

/// Returns a client configuration that checks as much as `verify` says
/// against `roots` and offers `alpn` (PostgreSQL 17 expects `postgresql`).
pub fn client_config(
    verify: Verify,
    roots: &Roots,
    alpn: Option<&[u8]>,
) -> Result<Arc<ClientConfig>, String> {
    let provider = provider();
    let webpki = match verify {
        Verify::Nothing => None,
        Verify::Chain | Verify::ChainAndName => Some(
            WebPkiServerVerifier::builder_with_provider(
                Arc::new(root_store(roots)?),
                provider.clone(),
            )
            .build()
            .map_err(|e| format!("cannot check certificates against {roots}: {e}"))?,
        ),
    };
    let verifier = Verifier {
        verify,
        webpki,
        algorithms: provider.signature_verification_algorithms,
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    if let Some(alpn) = alpn {
        config.alpn_protocols = vec![alpn.to_vec()];
    }
    Ok(Arc::new(config))
}

/// Checks a server certificate as far as [`Verify`] says; the handshake's
/// signatures are checked whatever it says.
#[derive(Debug)]
struct Verifier {
    verify: Verify,
    webpki: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        let checked =
            webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        match checked {
            // webpki checks the name only after the chain: a wrong name means
            // the chain was good, which is all `Chain` asks.
            Err(rustls::Error::InvalidCertificate(error))
                if self.verify == Verify::Chain && is_name_mismatch(&error) =>
            {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Returns whether a certificate error says only that the certificate names
/// another host.
fn is_name_mismatch(error: &CertificateError) -> bool {
    matches!(
        error,
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
    )
}

/// Why a TLS handshake failed, as far as rev can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The certificate is good but names another host.
    WrongName(String),
    /// The certificate is not signed by any of the roots.
    UntrustedRoot(String),
    /// The certificate has expired or is not valid yet.
    OutOfDate(String),
    /// Anything else rustls refused.
    Handshake(String),
}

impl Failure {
    /// Returns the failure in words, with the option that checks less and
    /// the option that gives the roots, as the backend spells them.
    pub fn describe(&self, weaker: &str, roots_option: &str) -> String {
        match self {
            Failure::WrongName(detail) => format!(
                "the server's certificate does not name the host connected to ({detail}); \
                 connect by a name the certificate holds, or {weaker}"
            ),
            Failure::UntrustedRoot(detail) => format!(
                "the server's certificate is not signed by a trusted root ({detail}); give the \
                 CA's certificate as a PEM file with {roots_option}=<file>"
            ),
            Failure::OutOfDate(detail) => {
                format!("the server's certificate is out of date ({detail})")
            }
            Failure::Handshake(detail) => format!("the TLS handshake failed: {detail}"),
        }
    }
}

/// Returns why TLS failed, when `error` (or one of its causes) is a rustls
/// error.
pub fn failure(error: &(dyn std::error::Error + 'static)) -> Option<Failure> {
    let mut current = Some(error);
    while let Some(error) = current {
        let rustls_error = error.downcast_ref::<rustls::Error>().or_else(|| {
            error
                .downcast_ref::<io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls_error) = rustls_error {
            let detail = rustls_error.to_string();
            return Some(match rustls_error {
                rustls::Error::InvalidCertificate(cert) if is_name_mismatch(cert) => {
                    Failure::WrongName(detail)
                }
                rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer | CertificateError::BadSignature,
                ) => Failure::UntrustedRoot(detail),
                rustls::Error::InvalidCertificate(
                    CertificateError::Expired
                    | CertificateError::ExpiredContext { .. }
                    | CertificateError::NotValidYet
                    | CertificateError::NotValidYetContext { .. },
                ) => Failure::OutOfDate(detail),
                _ => Failure::Handshake(detail),
            });
        }
        current = error.source();
    }
    None
}
#[cfg(feature = "postgres")]
pub use postgres_tls::{MakeRustls, RustlsConnect, RustlsStream};

/// tokio-postgres' TLS traits over rustls.
#[cfg(feature = "postgres")]
mod postgres_tls {
    use std::future::Future;
    use std::io;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use rustls::pki_types::ServerName;
    use rustls::ClientConfig;
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

    /// Makes rustls connections for tokio-postgres.
    #[derive(Clone)]
    pub struct MakeRustls {
        config: Arc<ClientConfig>,
    }

    impl MakeRustls {
        /// Returns a connector that uses `config`.
        pub fn new(config: Arc<ClientConfig>) -> Self {
            MakeRustls { config }
        }
    }

    impl<S> MakeTlsConnect<S> for MakeRustls
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        type Stream = RustlsStream<S>;
        type TlsConnect = RustlsConnect;
        type Error = rustls::pki_types::InvalidDnsNameError;

        fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, Self::Error> {
            Ok(RustlsConnect {
                config: self.config.clone(),
                name: ServerName::try_from(domain.to_owned())?,
            })
        }
    }

    /// Secures one connection to the server `name`.
    pub struct RustlsConnect {
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    }

    impl<S> TlsConnect<S> for RustlsConnect
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        type Stream = RustlsStream<S>;
        type Error = io::Error;
        type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

        fn connect(self, stream: S) -> Self::Future {
            Box::pin(async move {
                let stream = tokio_rustls::TlsConnector::from(self.config)
                    .connect(self.name, stream)
                    .await?;
                Ok(RustlsStream(stream))
            })
        }
    }

    /// A TLS stream to the server.
    pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

    impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_read(cx, buf)
        }
    }

    impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.0).poll_write(cx, buf)
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_shutdown(cx)
        }
    }

    impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
        fn channel_binding(&self) -> ChannelBinding {
            // SCRAM without channel binding: `channel_binding=require` is refused
            // by the driver rather than met.
            ChannelBinding::none()
        }
    }
}
