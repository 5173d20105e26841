//! TLS for the IMAP and SMTP connections (rustls with ring, the stack ureq
//! already brings): implicit TLS or STARTTLS, certificates checked against
//! the Mozilla roots plus an optional CA file (`[mail] tls_ca_file`, for a
//! site CA or a self-signed test server).

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use crate::config::Tls;

/// A connection, plain or encrypted.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// The client configuration: Mozilla roots plus the certificates in `ca_file`.
pub fn client_config(ca_file: Option<&Path>) -> io::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let bad = |e: rustls::pki_types::pem::Error| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        };
        for cert in CertificateDer::pem_file_iter(path).map_err(bad)? {
            roots
                .add(cert.map_err(bad)?)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| io::Error::other(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Start TLS on a connected socket, checking the certificate for `host`.
pub fn wrap(tcp: TcpStream, host: &str, config: Arc<ClientConfig>) -> io::Result<Stream> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
    let mut stream = StreamOwned::new(conn, tcp);
    // Handshake now, so a bad certificate fails here and not in the first command.
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(Stream::Tls(Box::new(stream)))
}

/// Where a mail server listens and how to secure the connection.
#[derive(Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    /// Needed for `Tls::Starttls` and `Tls::Implicit`.
    pub config: Option<Arc<ClientConfig>>,
}

impl Endpoint {
    /// Connect; with implicit TLS the handshake is done here.
    pub fn connect(&self) -> io::Result<Stream> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))?;
        tcp.set_read_timeout(Some(Duration::from_secs(60)))?;
        tcp.set_write_timeout(Some(Duration::from_secs(60)))?;
        match self.tls {
            Tls::Implicit => self.secure(Stream::Plain(tcp)),
            _ => Ok(Stream::Plain(tcp)),
        }
    }

    /// Upgrade a plain connection (after the protocol's STARTTLS).
    pub fn secure(&self, stream: Stream) -> io::Result<Stream> {
        let (Stream::Plain(tcp), Some(config)) = (stream, self.config.clone()) else {
            return Err(io::Error::other(
                "TLS: not a plain connection or no TLS configuration",
            ));
        };
        wrap(tcp, &self.host, config)
    }
}
