//! `conf/activesync.toml`: every option with its default. The file in
//! `conf/` documents each key; this module is the single place that reads it.
//!
//! Relative paths resolve against the folder of the config file (or the
//! working directory when there is no config file).

use anyhow::{Context, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub backend: BackendConfig,
    pub provisioning: ProvisioningConfig,
    pub policies: Policies,
    pub ping: PingConfig,
    pub sync: SyncConfig,
    pub log: LogConfig,
    pub mail: MailConfig,
    pub gal: GalConfig,
    pub validate_cert: ValidateCertConfig,
    /// Folder the config file was read from; relative paths resolve here.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Where device state lives (`<user>/info-<deviceid>`, folder states).
    pub state_dir: PathBuf,
    /// Largest request body accepted; bigger ones get 413 without being read.
    pub max_body_bytes: u64,
    /// Protocol versions offered in OPTIONS and accepted in requests.
    pub protocol_versions: Vec<String>,
    /// Default listen address of `serve`.
    pub listen: String,
    /// Realm in `WWW-Authenticate: Basic realm="..."`.
    pub realm: String,
    /// The ActiveSync URL devices are told by Autodiscover, e.g.
    /// `https://mail.example.com/Microsoft-Server-ActiveSync`; unset = HTTPS
    /// on the Host the device reached.
    pub public_url: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            state_dir: PathBuf::from("state"),
            max_body_bytes: 50 * 1024 * 1024,
            protocol_versions: ["2.5", "12.0", "12.1", "14.0", "14.1", "16.0", "16.1"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            listen: "127.0.0.1:8080".into(),
            realm: "Horde ActiveSync".into(),
            public_url: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Embedded,
    Horde,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackendConfig {
    pub kind: BackendKind,
    /// SQLite file of the embedded store.
    pub embedded_db: PathBuf,
    /// Horde's JSON-RPC endpoint, e.g. `http://127.0.0.1/horde/rpc.php`.
    pub horde_rpc_url: String,
    /// Timeout of one JSON-RPC call, seconds.
    pub horde_timeout: u64,
    /// Use the optional Horde extension (`horde/activesync` in this
    /// repository, installed into Horde by the admin): one `activesync.*`
    /// call instead of one call per app or per collection.
    pub horde_extension: bool,
}

impl Default for BackendConfig {
    fn default() -> Self {
        BackendConfig {
            kind: BackendKind::Embedded,
            embedded_db: PathBuf::from("state/embedded.sqlite"),
            horde_rpc_url: "http://127.0.0.1/horde/rpc.php".into(),
            horde_timeout: 30,
            horde_extension: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ProvisioningMode {
    /// Never ask devices to provision.
    None,
    /// Devices that provision get the policies; devices that cannot still sync.
    #[default]
    Allow,
    /// Every command but Ping/OPTIONS needs the current policy key.
    Force,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ProvisioningConfig {
    pub mode: ProvisioningMode,
}

/// EASProvisionDoc settings (MS-ASPROV 2.2.2). Names follow the spec.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Policies {
    pub device_password_enabled: bool,
    pub alphanumeric_device_password_required: bool,
    pub password_recovery_enabled: bool,
    pub require_storage_card_encryption: bool,
    pub attachments_enabled: bool,
    pub min_device_password_length: u32,
    /// Seconds; 0 = no inactivity lock.
    pub max_inactivity_time_device_lock: u32,
    /// 0 = unlimited.
    pub max_device_password_failed_attempts: u32,
    /// Bytes; 0 = no limit.
    pub max_attachment_size: u32,
    pub allow_simple_device_password: bool,
    /// Days; 0 = never expires.
    pub device_password_expiration: u32,
    pub device_password_history: u32,
    pub allow_storage_card: bool,
    pub allow_camera: bool,
    pub require_device_encryption: bool,
    pub allow_unsigned_applications: bool,
    pub allow_unsigned_installation_packages: bool,
    pub min_device_password_complex_characters: u32,
    pub allow_wifi: bool,
    pub allow_text_messaging: bool,
    pub allow_pop_imap_email: bool,
    pub allow_bluetooth: u32,
    pub allow_irda: bool,
    pub require_manual_sync_when_roaming: bool,
    pub allow_desktop_sync: bool,
    pub max_calendar_age_filter: u32,
    pub allow_html_email: bool,
    pub max_email_age_filter: u32,
    /// Bytes; -1 = no limit.
    pub max_email_body_truncation_size: i64,
    pub max_email_html_body_truncation_size: i64,
    pub require_signed_smime_messages: bool,
    pub require_encrypted_smime_messages: bool,
    pub require_signed_smime_algorithm: u32,
    pub require_encryption_smime_algorithm: u32,
    pub allow_smime_encryption_algorithm_negotiation: u32,
    pub allow_smime_soft_certs: bool,
    pub allow_browser: bool,
    pub allow_consumer_email: bool,
    pub allow_remote_desktop: bool,
    pub allow_internet_sharing: bool,
}

impl Default for Policies {
    fn default() -> Self {
        Policies {
            device_password_enabled: false,
            alphanumeric_device_password_required: false,
            password_recovery_enabled: false,
            require_storage_card_encryption: false,
            attachments_enabled: true,
            min_device_password_length: 4,
            max_inactivity_time_device_lock: 900,
            max_device_password_failed_attempts: 8,
            max_attachment_size: 0,
            allow_simple_device_password: true,
            device_password_expiration: 0,
            device_password_history: 0,
            allow_storage_card: true,
            allow_camera: true,
            require_device_encryption: false,
            allow_unsigned_applications: true,
            allow_unsigned_installation_packages: true,
            min_device_password_complex_characters: 1,
            allow_wifi: true,
            allow_text_messaging: true,
            allow_pop_imap_email: true,
            allow_bluetooth: 2,
            allow_irda: true,
            require_manual_sync_when_roaming: false,
            allow_desktop_sync: true,
            max_calendar_age_filter: 0,
            allow_html_email: true,
            max_email_age_filter: 0,
            max_email_body_truncation_size: -1,
            max_email_html_body_truncation_size: -1,
            require_signed_smime_messages: false,
            require_encrypted_smime_messages: false,
            require_signed_smime_algorithm: 0,
            require_encryption_smime_algorithm: 0,
            allow_smime_encryption_algorithm_negotiation: 2,
            allow_smime_soft_certs: true,
            allow_browser: true,
            allow_consumer_email: true,
            allow_remote_desktop: true,
            allow_internet_sharing: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PingConfig {
    /// Shortest HeartbeatInterval accepted, seconds (MS-ASCMD allows 60..3540).
    pub heartbeat_min: u32,
    /// Longest HeartbeatInterval accepted, seconds.
    pub heartbeat_max: u32,
    /// How often a held Ping or waiting Sync checks the backend, seconds.
    pub poll_interval: u32,
    /// Most folders one Ping may watch.
    pub max_folders: u32,
}

impl Default for PingConfig {
    fn default() -> Self {
        PingConfig {
            heartbeat_min: 60,
            heartbeat_max: 3540,
            poll_interval: 10,
            max_folders: 300,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// Largest WindowSize honoured; larger requests are clamped (MS-ASCMD: 512).
    pub max_window_size: u32,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            max_window_size: 512,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// error, warn, info, debug or trace (RUST_LOG overrides).
    pub level: String,
    /// Optional log file in addition to stderr.
    pub file: Option<PathBuf>,
    /// Devices whose requests and responses are logged as XML.
    pub debug_devices: Vec<String>,
    /// Folder of the per-device debug logs (`<deviceid>.log`).
    pub debug_dir: PathBuf,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            file: None,
            debug_devices: Vec::new(),
            debug_dir: PathBuf::from("state/debug"),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    #[default]
    None,
    Starttls,
    Implicit,
}

/// Mail is off unless `imap_host` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    pub imap_host: Option<String>,
    pub imap_port: u16,
    pub imap_tls: Tls,
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_tls: Tls,
    pub smtp_auth: bool,
    /// Domain appended to bare user names for From addresses.
    pub domain: Option<String>,
    pub sent_folder: Option<String>,
    pub drafts_folder: Option<String>,
    pub trash_folder: Option<String>,
    /// Extra CA certificates (PEM) trusted for IMAP/SMTP TLS, besides the
    /// built-in Mozilla roots.
    pub tls_ca_file: Option<PathBuf>,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            imap_host: None,
            imap_port: 143,
            imap_tls: Tls::None,
            smtp_host: None,
            smtp_port: 587,
            smtp_tls: Tls::None,
            smtp_auth: true,
            domain: None,
            sent_folder: None,
            drafts_folder: None,
            trash_folder: None,
            tls_ca_file: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct GalConfig {
    /// Address book ids that form the Global Address List.
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidateCertConfig {
    /// PEM files of the root certificates ValidateCert trusts (the
    /// system's bundle by default; add a company CA here).
    pub ca_files: Vec<PathBuf>,
}

impl Default for ValidateCertConfig {
    fn default() -> Self {
        ValidateCertConfig {
            ca_files: vec![PathBuf::from("/etc/ssl/certs/ca-certificates.crt")],
        }
    }
}

/// Where the config comes from: `--config FILE`, else `$HORDE_ACTIVESYNC_CONFIG`,
/// else `conf/activesync.toml` in the working directory if it exists.
pub fn locate(cli: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = cli {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("HORDE_ACTIVESYNC_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let default = PathBuf::from("conf/activesync.toml");
    default.exists().then_some(default)
}

impl Config {
    /// Load the config (see [`locate`]); without a file, the embedded defaults
    /// relative to the working directory.
    pub fn load(cli: Option<&Path>) -> Result<Config> {
        match locate(cli) {
            Some(path) => Config::from_file(&path),
            None => {
                let mut c = Config {
                    base_dir: std::env::current_dir()?,
                    ..Config::default()
                };
                c.resolve_paths();
                Ok(c)
            }
        }
    }

    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        let mut c = Config::parse(&text).with_context(|| format!("in {}", path.display()))?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        c.base_dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        c.resolve_paths();
        Ok(c)
    }

    pub fn parse(text: &str) -> Result<Config> {
        Ok(toml::from_str(text)?)
    }

    fn resolve_paths(&mut self) {
        let base = self.base_dir.clone();
        let abs = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        abs(&mut self.server.state_dir);
        abs(&mut self.backend.embedded_db);
        abs(&mut self.log.debug_dir);
        if let Some(f) = self.log.file.as_mut() {
            abs(f);
        }
        self.validate_cert.ca_files.iter_mut().for_each(abs);
    }
}
