//! TLS with rustls (ring, no OpenSSL): the client configuration grpcx
//! connects with, the server configuration `grpcx serve --tls-cert` listens
//! with, and plain words for what a failed handshake means.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore,
    ServerConfig, SignatureScheme,
};

use crate::cli::ConnArgs;

/// The client configuration for `args`: the system roots (or only
/// `--cacert`), an optional client identity, and ALPN `h2`.
pub fn client_config(args: &ConnArgs) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS")?;
    let builder = if args.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerifier(
                provider.signature_verification_algorithms,
            )))
    } else {
        builder.with_root_certificates(roots(args.cacert.as_deref())?)
    };
    let mut config = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(load_certs(cert)?, load_key(key)?)
            .with_context(|| format!("--cert {} does not match --key", cert.display()))?,
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// `--cacert` alone when given (as curl and grpcurl do); otherwise the
/// system's roots, or the webpki roots when the system has none.
fn roots(cacert: Option<&Path>) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    if let Some(path) = cacert {
        for cert in load_certs(path)? {
            store.add(cert).with_context(|| {
                format!("--cacert {}: a certificate is invalid", path.display())
            })?;
        }
        return Ok(store);
    }
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = store.add_parsable_certificates(native.certs);
    if added == 0 {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    Ok(store)
}

/// The server configuration of `grpcx serve`: a certificate chain and key,
/// and, with `client_ca`, required client certificates.
pub fn server_config(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS")?;
    let builder = match client_ca {
        Some(path) => {
            let mut store = RootCertStore::empty();
            for cert in load_certs(path)? {
                store.add(cert)?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(store),
                provider,
            )
            .build()
            .context("--client-ca")?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(load_certs(cert)?, load_key(key)?)
        .with_context(|| format!("{} does not match its key", cert.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Every certificate in a PEM file.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|err| pem_error(path, err))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| pem_error(path, err))?;
    if certs.is_empty() {
        bail!("{} holds no PEM certificate", path.display());
    }
    Ok(certs)
}

/// The first private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path).map_err(|err| match err {
        rustls::pki_types::pem::Error::NoItemsFound => {
            anyhow!("{} holds no PEM private key", path.display())
        }
        err => pem_error(path, err),
    })
}

fn pem_error(path: &Path, err: rustls::pki_types::pem::Error) -> anyhow::Error {
    match err {
        rustls::pki_types::pem::Error::Io(err) => anyhow!("cannot read {}: {err}", path.display()),
        err => anyhow!("{} is not valid PEM: {err}", path.display()),
    }
}

/// The name the server's certificate is checked against: `--authority`
/// (without a port) or the target's host.
pub fn server_name(authority: Option<&str>, host: &str) -> Result<ServerName<'static>> {
    let name = authority.map_or(host, strip_port);
    ServerName::try_from(name.to_string())
        .map_err(|_| anyhow!("'{name}' is not a valid server name for TLS"))
}

/// `host:port` → `host`, `[::1]:443` → `::1`; a bare host is left alone.
fn strip_port(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(host, _)| host);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => host,
        _ => authority,
    }
}

/// What a rustls error means, in words a user can act on.
pub fn describe(err: &rustls::Error, name: &str, client_cert: bool) -> String {
    use rustls::Error as E;
    match err {
        E::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => {
                "TLS: the server's certificate is signed by an unknown issuer \
                 (pass --cacert with the CA that signed it, or --insecure to skip verification)"
                    .to_string()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                let presented = match cert {
                    CertificateError::NotValidForNameContext { presented, .. } => {
                        format!(", only for {}", presented.join(", "))
                    }
                    _ => String::new(),
                };
                format!(
                    "TLS: the server's certificate is not valid for the name '{name}'{presented} \
                     (--authority NAME checks another name)"
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "TLS: the server's certificate has expired".to_string()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "TLS: the server's certificate is not valid yet".to_string()
            }
            other => format!("TLS: the server's certificate is invalid: {other:?}"),
        },
        E::AlertReceived(AlertDescription::CertificateRequired) => {
            "TLS: the server requires a client certificate (pass --cert and --key)".to_string()
        }
        E::AlertReceived(
            alert @ (AlertDescription::HandshakeFailure
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::AccessDenied),
        ) => {
            if client_cert {
                format!("TLS: the server refused the client certificate (alert: {alert:?})")
            } else {
                format!(
                    "TLS: the server refused the handshake (alert: {alert:?}); \
                     it may require a client certificate (--cert and --key)"
                )
            }
        }
        E::InvalidMessage(_) | E::InappropriateMessage { .. } => {
            "TLS: the server did not answer the TLS handshake; it seems to speak plaintext \
             (use http://HOST:PORT or --plaintext)"
                .to_string()
        }
        E::NoApplicationProtocol => "TLS: the server does not offer HTTP/2 (ALPN h2)".to_string(),
        other => format!("TLS handshake failed: {other}"),
    }
}

/// `--insecure`: accepts any certificate, but still checks that the server
/// holds its key, so the handshake itself stays sound.
#[derive(Debug)]
struct NoVerifier(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_ports_are_stripped() {
        assert_eq!(strip_port("example.com:443"), "example.com");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("[::1]:443"), "::1");
        assert_eq!(strip_port("::1"), "::1");
    }

    #[test]
    fn server_names_accept_hosts_and_addresses() {
        assert!(server_name(None, "example.com").is_ok());
        assert!(server_name(None, "127.0.0.1").is_ok());
        assert!(server_name(Some("other.test:8443"), "127.0.0.1").is_ok());
        assert!(server_name(Some("bad name"), "x").is_err());
    }
}
