//! `centrala`: the gateway binary (serve) and its administration commands (user, demo).

/// mimalloc: ~10% less CPU per REGISTER than glibc's malloc (a SIP message is dozens of
/// small strings), for ~0.25 KB more per idle WebSocket client (docs/benchmarks.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use centrala_gateway::accounts::{Company, DEFAULT_COMPANY, NewEmployee, Role};
use centrala_gateway::api;
use centrala_gateway::limits::Limits;
use centrala_gateway::mail::{MailConfig, SmtpSecurity};
use centrala_gateway::server::{self, Listeners, ServeConfig};
use centrala_gateway::store::Store;
use centrala_sip::digest::Algorithm;
use clap::{Parser, Subcommand};
use rand::Rng;
use tracing_subscriber::EnvFilter;

const DEFAULT_DOMAIN: &str = "centrala.local";

#[derive(Parser)]
#[command(
    name = "centrala",
    version,
    about = "Centrala: a cloud phone system in the browser"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
// Parsed once at start: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Serves the web app at / and SIP over WebSocket at /sip.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080", env = "CENTRALA_LISTEN")]
        listen: String,
        /// Folder for the SQLite database and other data.
        #[arg(long, default_value = "data", env = "CENTRALA_DATA")]
        data: PathBuf,
        /// SIP domain (also the digest realm). Defaults to the one this data folder was set up with.
        #[arg(long, env = "CENTRALA_DOMAIN")]
        domain: Option<String>,
        /// The built web app (trunk build's output).
        #[arg(long, default_value = "dist", env = "CENTRALA_WEB_ROOT")]
        web_root: PathBuf,
        /// Also serve SIP over UDP on this address (e.g. 127.0.0.1:5060).
        #[arg(long, env = "CENTRALA_SIP_UDP")]
        sip_udp: Option<SocketAddr>,
        /// Also serve SIP over TCP on this address (e.g. 127.0.0.1:5060).
        #[arg(long, env = "CENTRALA_SIP_TCP")]
        sip_tcp: Option<SocketAddr>,
        /// The host name (or address) desk phones register at, shown with device credentials.
        /// Default: the SIP listening address if it is a specific public one, else the
        /// public URL's host.
        #[arg(long, env = "CENTRALA_SIP_HOST")]
        sip_host: Option<String>,
        /// A SIP trunk or load generator that is not challenged for calls (REGISTER always
        /// is): `ADDR` trusts it over TCP and TLS; `udp:ADDR`, `tcp:ADDR`, `tls:ADDR` name one
        /// transport (UDP sources can be forged: trust them only on a network you control).
        /// Repeatable.
        #[arg(long = "trusted-peer", value_name = "[TRANSPORT:]ADDR")]
        trusted_peers: Vec<centrala_gateway::trusted::TrustedPeer>,
        /// Requests per source address per 2 s before it is banned for a minute.
        #[arg(long, default_value_t = Limits::default().flood_max_requests)]
        flood_limit: u32,
        /// Toll fraud: more international calls than this by one person within
        /// --toll-fraud-minutes suspends their calls outside the company and e-mails the
        /// company's administrators (an administrator lifts it). 0 turns the guard off.
        #[arg(long, default_value_t = Limits::default().toll_fraud_calls)]
        toll_fraud_calls: u32,
        /// The window of --toll-fraud-calls, in minutes (at least 1).
        #[arg(long, default_value_t = Limits::default().toll_fraud_window_ms / 60_000)]
        toll_fraud_minutes: u64,
        /// Open connections allowed per source address.
        #[arg(long, default_value_t = Limits::default().max_connections_per_ip)]
        max_connections_per_ip: usize,
        /// Open connections (WebSocket, TCP, TLS) allowed in all; past it new ones get 503.
        /// Default: the open-file limit (raised to its hard maximum at start) less 256 for
        /// the database, listeners and logs.
        #[arg(long)]
        max_connections: Option<usize>,
        /// Also serve SIP over TLS on this address (needs --tls-cert and --tls-key).
        #[arg(long, env = "CENTRALA_SIP_TLS")]
        sip_tls: Option<SocketAddr>,
        /// Also serve HTTPS and SIP over secure WebSocket (wss://…/sip) on this address.
        #[arg(long, env = "CENTRALA_HTTPS")]
        https: Option<SocketAddr>,
        /// PEM certificate chain for TLS.
        #[arg(long, env = "CENTRALA_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key for TLS.
        #[arg(long, env = "CENTRALA_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// The address people open the web app at, for links in e-mails
        /// (default: http://<listen>).
        #[arg(long, env = "CENTRALA_PUBLIC_URL")]
        public_url: Option<String>,
        /// Another origin (https://x.example) whose pages may use the API and /sip, besides
        /// the public URL's (without --public-url: http://<listen>, and for a loopback
        /// address also localhost and 127.0.0.1). Repeatable.
        #[arg(long = "allowed-origin", value_name = "ORIGIN")]
        allowed_origins: Vec<String>,
        /// An address besides loopback that may read /metrics (a Prometheus server).
        /// Repeatable.
        #[arg(long = "metrics-allow", value_name = "ADDR")]
        metrics_allow: Vec<std::net::IpAddr>,
        /// The address the media plane (voicemail) binds and puts in its SDP: one the
        /// callers' browsers and phones can reach.
        #[arg(long, default_value = "127.0.0.1", env = "CENTRALA_MEDIA_ADDRESS")]
        media_address: std::net::IpAddr,
        /// The UDP ports of the media plane, FIRST-LAST (two per call leg).
        #[arg(long, default_value = "40000-40999", env = "CENTRALA_MEDIA_PORTS")]
        media_ports: centrala_media::PortRange,
        /// A call leg with no media for this many seconds is ended.
        #[arg(long, default_value_t = 30)]
        media_timeout: u64,
        /// The longest voicemail message, in seconds.
        #[arg(long, default_value_t = 180)]
        voicemail_max: u64,
        /// Seconds of silence that end a voicemail message.
        #[arg(long, default_value_t = 5)]
        voicemail_silence: u64,
        /// No voicemail service (voicemail forwarding rules are skipped).
        #[arg(long)]
        no_voicemail: bool,
        /// The UDP port of the media relay for browsers (TURN) on the media address; 0: no
        /// relay (browsers that cannot reach each other directly then have no media).
        #[arg(long, default_value_t = 3478, env = "CENTRALA_TURN_PORT")]
        turn_port: u16,
        /// The UDP ports of relayed candidates, FIRST-LAST.
        #[arg(long, default_value = "50000-50999", env = "CENTRALA_TURN_PORTS")]
        turn_ports: centrala_media::PortRange,
        /// A CA certificate (PEM) that TLS trunks' certificates may chain to, besides the
        /// usual public roots (a carrier's own CA).
        #[arg(long, env = "CENTRALA_TRUNK_CA")]
        trunk_ca: Option<PathBuf>,
        #[command(flatten)]
        mail: MailArgs,
    },
    /// Manages companies (tenants).
    Company {
        #[command(subcommand)]
        command: CompanyCommand,
        #[arg(long, default_value = "data", env = "CENTRALA_DATA", global = true)]
        data: PathBuf,
    },
    /// Manages users (extensions).
    User {
        #[command(subcommand)]
        command: UserCommand,
        #[arg(long, default_value = "data", env = "CENTRALA_DATA", global = true)]
        data: PathBuf,
        /// SIP domain the password is set for. Defaults to the data folder's domain.
        #[arg(long, env = "CENTRALA_DOMAIN", global = true)]
        domain: Option<String>,
    },
    /// Manages the trunks to the phone network (SIP carriers). A running gateway picks
    /// changes up within 10 s.
    Trunk {
        #[command(subcommand)]
        command: TrunkCommand,
        #[arg(long, default_value = "data", env = "CENTRALA_DATA", global = true)]
        data: PathBuf,
    },
    /// The installation operator's access to the API (trunks: /api/v1/operator/…).
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
        #[arg(long, default_value = "data", env = "CENTRALA_DATA", global = true)]
        data: PathBuf,
    },
    /// Shows and changes the price lists (prices are data, versioned by day).
    Prices {
        #[command(subcommand)]
        command: centrala_gateway::prices_cli::PricesCommand,
        #[arg(long, default_value = "data", env = "CENTRALA_DATA", global = true)]
        data: PathBuf,
    },
    /// Creates (or resets) the demo company: extensions 101, 102 and 103 with new passwords,
    /// printed on the console.
    Demo {
        #[arg(long, default_value = "data", env = "CENTRALA_DATA")]
        data: PathBuf,
        #[arg(long, env = "CENTRALA_DOMAIN")]
        domain: Option<String>,
    },
}

/// Outgoing e-mail. With no SMTP host, messages are written as .eml files under
/// `<data>/mail` and their links logged.
#[derive(clap::Args)]
struct MailArgs {
    #[arg(long, env = "CENTRALA_SMTP_HOST")]
    smtp_host: Option<String>,
    #[arg(long, env = "CENTRALA_SMTP_PORT", default_value_t = 587)]
    smtp_port: u16,
    #[arg(
        long,
        env = "CENTRALA_SMTP_SECURITY",
        value_enum,
        default_value = "starttls"
    )]
    smtp_security: SmtpSecurity,
    #[arg(long, env = "CENTRALA_SMTP_USER")]
    smtp_user: Option<String>,
    /// Only from the environment, so it does not show in the process list.
    #[arg(skip = std::env::var("CENTRALA_SMTP_PASSWORD").ok())]
    smtp_password: Option<String>,
    /// The sender, e.g. "Centrala <phone@example.com>" (default: no-reply@<domain>).
    #[arg(long, env = "CENTRALA_MAIL_FROM")]
    mail_from: Option<String>,
}

impl MailArgs {
    fn config(self, data: &Path, domain: &str) -> MailConfig {
        let from = self
            .mail_from
            .unwrap_or_else(|| format!("Centrala <no-reply@{domain}>"));
        match self.smtp_host {
            Some(host) => MailConfig::Smtp {
                host,
                port: self.smtp_port,
                security: self.smtp_security,
                credentials: self
                    .smtp_user
                    .map(|u| (u, self.smtp_password.unwrap_or_default())),
                from,
            },
            None => MailConfig::Files {
                dir: data.join("mail"),
                from,
            },
        }
    }
}

#[derive(Subcommand)]
enum OperatorCommand {
    /// Makes a new operator token (the old one stops working) and prints it once; only its
    /// SHA-256 is kept.
    Token,
}

#[derive(Subcommand)]
enum TrunkCommand {
    /// Adds a trunk: a carrier's SIP server that trusts this gateway by its address (calls
    /// in from the carrier's address are not challenged). Calls out try trunks by
    /// priority, lowest first, and fail over on a 5xx or silence.
    Add {
        /// A short name, e.g. carrier-a.
        #[arg(long)]
        name: String,
        /// The carrier's SIP host name or IP address.
        #[arg(long)]
        host: String,
        #[arg(long, default_value_t = 5060)]
        port: u16,
        /// udp, tcp or tls (the carrier's certificate must chain to a public root or to
        /// `serve --trunk-ca`).
        #[arg(long, default_value = "udp")]
        transport: centrala_gateway::trunks::TrunkTransport,
        /// Lower is tried first.
        #[arg(long, default_value_t = 10)]
        priority: i64,
        /// The carrier's codecs in its order of preference: PCMA, PCMU.
        #[arg(long, default_value = "PCMA PCMU")]
        codecs: String,
        /// The account the gateway registers to the carrier with (needs --sip-udp when
        /// serving); its password is read from standard input (one line), never from the
        /// command line.
        #[arg(long)]
        username: Option<String>,
    },
    /// Lists the trunks in the order calls try them.
    List,
    /// Removes a trunk by name.
    Remove { name: String },
}

#[derive(Subcommand)]
enum CompanyCommand {
    /// Creates a company with its SIP domain, and optionally its first admin and a number
    /// block. The admin's web password is printed (or set with --admin-password); the admin
    /// gets no SIP password (desk phones): set one with `centrala user set --password`.
    Create {
        #[arg(long)]
        name: String,
        /// The company's SIP domain, e.g. acme.example.com.
        #[arg(long)]
        domain: String,
        /// Digits of an extension.
        #[arg(long, default_value_t = 3)]
        extension_digits: i64,
        /// A block of public numbers: FIRST/SIZE, e.g. +48226006100/10.
        #[arg(long)]
        number_block: Option<String>,
        #[arg(long)]
        admin_email: Option<String>,
        #[arg(long, default_value = "Administrator")]
        admin_name: String,
        /// The admin's web login password (argon2 only; never a SIP password).
        #[arg(long, env = "CENTRALA_ADMIN_PASSWORD")]
        admin_password: Option<String>,
    },
    /// Lists companies.
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Adds a user.
    Add {
        #[arg(long)]
        ext: String,
        #[arg(long)]
        name: String,
        /// The SIP password (at least 6 characters), for desk phones and SIP clients.
        /// Stored only as digest hashes.
        #[arg(long, env = "CENTRALA_USER_PASSWORD")]
        password: String,
        /// The company, by SIP domain (default: the installation's first company).
        #[arg(long)]
        company: Option<String>,
        /// Login e-mail for the web app.
        #[arg(long)]
        email: Option<String>,
        /// Sets the web login password directly (scripts, tests) and grants app access;
        /// otherwise invite the employee from the admin panel.
        #[arg(long, env = "CENTRALA_WEB_PASSWORD")]
        web_password: Option<String>,
        #[arg(long, value_enum, default_value = "user")]
        role: RoleArg,
        /// The digest challenge the SIP password gets (default: the transport's: MD5 on
        /// UDP, TCP and TLS, SHA-256 first on WebSocket).
        #[arg(long, value_enum)]
        digest: Option<DigestArg>,
    },
    /// Changes a user's SIP password or digest algorithm.
    Set {
        #[arg(long)]
        ext: String,
        #[arg(long)]
        company: Option<String>,
        /// A new SIP password (at least 6 characters).
        #[arg(long, env = "CENTRALA_USER_PASSWORD")]
        password: Option<String>,
        /// The digest challenge the SIP password gets; `default`: the transport's.
        #[arg(long, value_enum)]
        digest: Option<DigestSetting>,
    },
    /// Lists users.
    List {
        #[arg(long)]
        company: Option<String>,
    },
    /// Removes a user.
    Remove {
        #[arg(long)]
        ext: String,
        #[arg(long)]
        company: Option<String>,
    },
}

/// A device credential's digest algorithm.
#[derive(Clone, Copy, clap::ValueEnum)]
enum DigestArg {
    Md5,
    #[value(name = "sha-256")]
    Sha256,
}

impl From<DigestArg> for Algorithm {
    fn from(d: DigestArg) -> Algorithm {
        match d {
            DigestArg::Md5 => Algorithm::Md5,
            DigestArg::Sha256 => Algorithm::Sha256,
        }
    }
}

/// `user set --digest`: an algorithm, or back to the transport's default.
#[derive(Clone, Copy, clap::ValueEnum)]
enum DigestSetting {
    Md5,
    #[value(name = "sha-256")]
    Sha256,
    Default,
}

impl DigestSetting {
    fn algorithm(self) -> Option<Algorithm> {
        match self {
            DigestSetting::Md5 => Some(Algorithm::Md5),
            DigestSetting::Sha256 => Some(Algorithm::Sha256),
            DigestSetting::Default => None,
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    User,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::User => Role::User,
            RoleArg::Admin => Role::Admin,
        }
    }
}

/// A company by domain (default: the first).
async fn company_of(store: &Store, domain: Option<&str>) -> anyhow::Result<Company> {
    match domain {
        Some(d) => store.company_by_domain(d).await?.with_context(|| {
            format!("no company has the domain {d} (see `centrala company list`)")
        }),
        None => store
            .company(DEFAULT_COMPANY)
            .await?
            .context("the first company is missing"),
    }
}

/// A company (by domain, else the first) and the digest realm of its SIP passwords: the
/// first company's follows the installation's domain (`domain`), the others' their own.
async fn company_and_realm(
    store: &Store,
    flag: Option<String>,
    company: Option<&str>,
) -> anyhow::Result<(Company, String)> {
    let default_domain = domain(store, flag).await?;
    let c = company_of(store, company).await?;
    let realm = if c.id == DEFAULT_COMPANY {
        default_domain
    } else {
        c.domain.clone()
    };
    Ok((c, realm))
}

/// The domain to use: the flag, else the data folder's, else the default; remembered.
async fn domain(store: &Store, flag: Option<String>) -> anyhow::Result<String> {
    let stored = store.setting("domain").await?;
    let domain = flag
        .or(stored.clone())
        .unwrap_or_else(|| DEFAULT_DOMAIN.to_string());
    if stored.as_deref() != Some(domain.as_str()) {
        store.set_setting("domain", &domain).await?;
    }
    Ok(domain)
}

async fn bind_tcp(addr: &str, what: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("{what} on {addr}"))
}

async fn bind_opt(
    addr: Option<SocketAddr>,
    what: &str,
) -> anyhow::Result<Option<tokio::net::TcpListener>> {
    match addr {
        Some(a) => Ok(Some(bind_tcp(&a.to_string(), what).await?)),
        None => Ok(None),
    }
}

async fn open(data: &Path) -> anyhow::Result<Store> {
    Store::open(data)
        .await
        .with_context(|| format!("opening the data folder {}", data.display()))
}

/// Adds a company's first admin with a web password (printed when made up here) and no SIP
/// password: the web app registers with short-lived credentials, and a desk phone's
/// password is a separate one, set when a phone is set up.
async fn print_admin(
    store: &Store,
    c: &Company,
    name: &str,
    email: &str,
    password: Option<String>,
) -> anyhow::Result<()> {
    let ext = store
        .next_extension(c.id)
        .await?
        .context("every extension is taken")?;
    let made_up = password.is_none();
    let password = password.unwrap_or_else(random_password);
    let id = store
        .create_employee(
            c.id,
            &NewEmployee {
                name: name.to_string(),
                email: email.to_string(),
                extension: Some(ext.clone()),
                role: Role::Admin,
                app_access: true,
            },
        )
        .await?
        .id;
    store.set_web_password(id, &password).await?;
    if made_up {
        println!("  admin {email} (extension {ext}), web login password: {password}");
    } else {
        println!("  admin {email} (extension {ext}), web login password as given");
    }
    println!(
        "  no SIP password for desk phones yet; to add one: centrala user set --company {} --ext {ext} --password ...",
        c.domain
    );
    Ok(())
}

fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

fn main() -> anyhow::Result<()> {
    limit_malloc_arenas();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

/// Raises the soft open-file limit to the hard one (each WebSocket, TCP or TLS client holds a
/// descriptor) and returns the limit now in force.
fn raise_open_file_limit() -> usize {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return 1024;
            }
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim = raised;
                }
            }
        }
        usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX)
    }
    #[cfg(not(unix))]
    {
        usize::MAX
    }
}

/// glibc gives each thread that allocates its own heap ("arena", up to 8 per core); memory
/// freed in one is not reused by the others. Rust's allocations go to mimalloc, but SQLite
/// and other C code still use glibc's malloc: two arenas keep that small. Must run before
/// any thread starts.
/// `CENTRALA_MALLOC_ARENAS` sets another number (0: glibc's default), for measuring.
fn limit_malloc_arenas() {
    let arenas: i32 = std::env::var("CENTRALA_MALLOC_ARENAS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if arenas > 0 {
        // SAFETY: mallopt only sets an allocator parameter; no other thread exists yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
    let _ = arenas;
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve {
            listen,
            data,
            domain: flag,
            web_root,
            sip_udp,
            sip_tcp,
            sip_host,
            trusted_peers,
            flood_limit,
            toll_fraud_calls,
            toll_fraud_minutes,
            max_connections_per_ip,
            max_connections,
            sip_tls,
            https,
            tls_cert,
            tls_key,
            public_url,
            allowed_origins,
            metrics_allow,
            media_address,
            media_ports,
            media_timeout,
            voicemail_max,
            voicemail_silence,
            no_voicemail,
            turn_port,
            turn_ports,
            trunk_ca,
            mail,
        } => {
            let store = open(&data).await?;
            let domain = domain(&store, flag).await?;
            let stale = store.sip_passwords_for_other_realm(&domain).await?;
            if !stale.is_empty() {
                tracing::warn!(extensions = ?stale, "SIP passwords set for another domain; set them again with `centrala user add`");
            }
            if !web_root.join("index.html").exists() {
                tracing::warn!(web_root = %web_root.display(), "no web app here: build it with `trunk build --release`");
            }
            let tls = match (&tls_cert, &tls_key) {
                (Some(c), Some(k)) => Some(centrala_gateway::tls::acceptor(c, k)?),
                _ if sip_tls.is_some() || https.is_some() => {
                    anyhow::bail!("--sip-tls and --https need --tls-cert and --tls-key")
                }
                _ => None,
            };
            let listener = Listeners {
                http: bind_tcp(&listen, "HTTP").await?,
                sip_udp: match sip_udp {
                    Some(a) => Some(
                        tokio::net::UdpSocket::bind(a)
                            .await
                            .with_context(|| format!("SIP over UDP on {a}"))?,
                    ),
                    None => None,
                },
                sip_tcp: bind_opt(sip_tcp, "SIP over TCP").await?,
                sip_tls: bind_opt(sip_tls, "SIP over TLS").await?,
                https: bind_opt(https, "HTTPS").await?,
                tls,
            };
            let mut cfg = ServeConfig::new(&domain, web_root);
            cfg.trusted = trusted_peers;
            cfg.metrics_allow = metrics_allow;
            cfg.limits.flood_max_requests = flood_limit;
            cfg.limits.toll_fraud_calls = toll_fraud_calls;
            cfg.limits.toll_fraud_window_ms = toll_fraud_minutes.clamp(1, 7 * 24 * 60) * 60_000;
            cfg.limits.max_connections_per_ip = max_connections_per_ip;
            cfg.limits.max_connections = max_connections.unwrap_or_else(|| {
                let files = raise_open_file_limit();
                let max = files.saturating_sub(256).max(1);
                tracing::info!(
                    open_files = files,
                    max_connections = max,
                    "connection limit"
                );
                max
            });
            for o in public_url.iter().chain(&allowed_origins) {
                if api::normalize_origin(o).is_none() {
                    anyhow::bail!("{o} is not an http:// or https:// origin");
                }
            }
            if public_url.is_none() {
                let https = listener
                    .https
                    .as_ref()
                    .map(|l| l.local_addr())
                    .transpose()?;
                cfg.api
                    .allowed_origins
                    .extend(api::default_origins(listener.http.local_addr()?, https));
            }
            cfg.api.allowed_origins.extend(allowed_origins);
            cfg.api.public_url = public_url.unwrap_or_else(|| format!("http://{listen}"));
            tracing::info!(origins = ?cfg.api.origins().iter().collect::<Vec<_>>(), "pages of these origins may use the API and /sip");
            cfg.api.sip.host = sip_host;
            cfg.mail = mail.config(&data, &domain);
            if !no_voicemail {
                cfg.media = Some(centrala_gateway::vmserver::MediaConfig {
                    address: media_address,
                    ports: media_ports,
                    timeout: std::time::Duration::from_secs(media_timeout.max(1)),
                    answering: centrala_media::AnsweringConfig {
                        max_message: std::time::Duration::from_secs(voicemail_max.max(1)),
                        silence: std::time::Duration::from_secs(voicemail_silence.max(1)),
                        ..Default::default()
                    },
                });
            }
            cfg.trunk_ca = trunk_ca;
            if turn_port != 0 {
                cfg.turn = Some(centrala_gateway::turn::TurnConfig {
                    listen: std::net::SocketAddr::new(media_address, turn_port),
                    relay_address: media_address,
                    ports: turn_ports,
                    secret: rand::random(),
                });
            }
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
                tracing::info!("shutting down");
            };
            server::run(listener, store, cfg, shutdown).await
        }
        Command::User {
            command,
            data,
            domain: flag,
        } => {
            let store = open(&data).await?;
            match command {
                UserCommand::Add {
                    ext,
                    name,
                    password,
                    company,
                    email,
                    web_password,
                    role,
                    digest,
                } => {
                    let (c, realm) = company_and_realm(&store, flag, company.as_deref()).await?;
                    let id = store
                        .add_sip_user(c.id, &ext, &name, &password, &realm)
                        .await?;
                    store
                        .set_login(id, email.as_deref(), Some(role.into()))
                        .await?;
                    if let Some(pw) = web_password {
                        store.set_web_password(id, &pw).await?;
                    }
                    if let Some(d) = digest {
                        store.set_sip_digest(c.id, &ext, Some(d.into())).await?;
                    }
                    println!("added {ext} ({name}) in {realm}");
                }
                UserCommand::Set {
                    ext,
                    company,
                    password,
                    digest,
                } => {
                    if password.is_none() && digest.is_none() {
                        anyhow::bail!("nothing to change: give --password and/or --digest");
                    }
                    let (c, realm) = company_and_realm(&store, flag, company.as_deref()).await?;
                    if let Some(pw) = password {
                        store.set_sip_password(c.id, &ext, &pw, &realm).await?;
                        println!("SIP password of {ext} set in {realm}");
                    }
                    if let Some(d) = digest {
                        let alg = d.algorithm();
                        store.set_sip_digest(c.id, &ext, alg).await?;
                        println!(
                            "digest of {ext}: {}",
                            alg.map_or("the transport's default", |a| a.as_str())
                        );
                    }
                }
                UserCommand::List { company } => {
                    let c = company_of(&store, company.as_deref()).await?;
                    let (_, users) = store.employees(c.id, "", 100_000, 0).await?;
                    if users.is_empty() {
                        println!("no users");
                    }
                    for u in users {
                        println!(
                            "{}\t{}\t{}\t{}\t{:?}",
                            u.extension,
                            u.name,
                            u.email.unwrap_or_default(),
                            u.role.as_str(),
                            u.invite_state
                        );
                    }
                }
                UserCommand::Remove { ext, company } => {
                    let c = company_of(&store, company.as_deref()).await?;
                    store.remove_user_in(c.id, &ext).await?;
                    println!("removed {ext}");
                }
            }
            Ok(())
        }
        Command::Company { command, data } => {
            let store = open(&data).await?;
            match command {
                CompanyCommand::Create {
                    name,
                    domain,
                    extension_digits,
                    number_block,
                    admin_email,
                    admin_name,
                    admin_password,
                } => {
                    let c = store
                        .create_company(&name, &domain, extension_digits)
                        .await?;
                    println!("created company {} ({}), id {}", c.name, c.domain, c.id);
                    if let Some(b) = number_block {
                        let (first, size) = b.split_once('/').unwrap_or((b.as_str(), "10"));
                        let size: i64 = size.parse().context("--number-block FIRST/SIZE")?;
                        let block = store.add_number_block(c.id, first, size, None).await?;
                        println!(
                            "  numbers {} to {} ring extensions from {}",
                            block.first_number, block.last_number, block.first_extension
                        );
                    }
                    if let Some(email) = admin_email {
                        print_admin(&store, &c, &admin_name, &email, admin_password).await?;
                    }
                }
                CompanyCommand::List => {
                    for c in store.companies().await? {
                        println!("{}\t{}\t{}", c.id, c.domain, c.name);
                    }
                }
            }
            Ok(())
        }
        Command::Operator { command, data } => {
            let store = open(&data).await?;
            match command {
                OperatorCommand::Token => {
                    use centrala_gateway::api::operator::{
                        OPERATOR_TOKEN_PREFIX, OPERATOR_TOKEN_SETTING,
                    };
                    let token = format!(
                        "{OPERATOR_TOKEN_PREFIX}{}",
                        centrala_gateway::accounts::new_token()
                    );
                    store
                        .set_setting(
                            OPERATOR_TOKEN_SETTING,
                            &centrala_gateway::accounts::token_hash(&token),
                        )
                        .await?;
                    println!("{token}");
                    eprintln!(
                        "(shown once; send it as Authorization: Bearer to /api/v1/operator/…)"
                    );
                }
            }
            Ok(())
        }
        Command::Trunk { command, data } => {
            let store = open(&data).await?;
            match command {
                TrunkCommand::Add {
                    name,
                    host,
                    port,
                    transport,
                    priority,
                    codecs,
                    username,
                } => {
                    let t = centrala_gateway::trunks::NewTrunk {
                        name,
                        priority,
                        host,
                        port,
                        transport,
                        credentials: match username {
                            Some(u) => {
                                eprintln!(
                                    "password for {u} at the carrier (one line on standard input):"
                                );
                                let mut line = String::new();
                                std::io::stdin().read_line(&mut line)?;
                                Some((u, line.trim_end_matches(['\r', '\n']).to_string()))
                            }
                            None => None,
                        },
                        codecs: centrala_gateway::trunks::parse_codecs(&codecs),
                    };
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs() as i64);
                    let id = store.add_trunk(&t, now).await?;
                    let resolved = centrala_gateway::trunks::resolve(&store.trunks().await?).await;
                    if !resolved.iter().any(|r| r.name == t.name) {
                        println!(
                            "warning: {} does not resolve now; calls skip it until it does",
                            t.host
                        );
                    }
                    let how = match &t.credentials {
                        Some((u, _)) => format!("registering as {u}"),
                        None => "trusted by its address".into(),
                    };
                    println!(
                        "added trunk {} (id {id}): {}:{} over {}, priority {}, {how}",
                        t.name,
                        t.host,
                        t.port,
                        t.transport.as_str(),
                        t.priority
                    );
                }
                TrunkCommand::List => {
                    for t in store.trunks().await? {
                        println!(
                            "{}\t{}\t{}:{}\t{}\tpriority {}\t{}\t{}",
                            t.id,
                            t.name,
                            t.host,
                            t.port,
                            t.transport.as_str(),
                            t.priority,
                            t.codecs.join(" "),
                            t.username
                                .as_deref()
                                .map_or("by address".to_string(), |u| format!("registers as {u}"))
                        );
                    }
                }
                TrunkCommand::Remove { name } => {
                    if !store.remove_trunk(&name).await? {
                        anyhow::bail!("there is no trunk named {name:?}");
                    }
                    println!("removed trunk {name}");
                }
            }
            Ok(())
        }
        Command::Prices { command, data } => {
            centrala_gateway::prices_cli::run(&open(&data).await?, command).await
        }
        Command::Demo { data, domain: flag } => {
            let store = open(&data).await?;
            let domain = domain(&store, flag).await?;
            store.set_company_domain(DEFAULT_COMPANY, &domain).await?;
            store
                .rename_company(DEFAULT_COMPANY, "Demo company")
                .await?;
            if store.number_blocks(DEFAULT_COMPANY).await?.is_empty()
                && let Err(e) = store
                    .add_number_block(DEFAULT_COMPANY, "+48226006100", 10, None)
                    .await
            {
                println!("(number block not added: {e})");
            }
            let c = company_of(&store, None).await?;
            println!(
                "Demo company in {domain}. Open the web app and log in with an e-mail and its web password:"
            );
            let mut sip = Vec::new();
            for (ext, name, local, role) in [
                ("101", "Alice Nowak", "alice", Role::Admin),
                ("102", "Bartek Kowalski", "bartek", Role::User),
                ("103", "Celina Wiśniewska", "celina", Role::User),
            ] {
                // Two passwords, made independently: the web login's (argon2) and the
                // extension's SIP password for desk phones and SIP clients (digest HA1).
                let (web_password, sip_password) = (random_password(), random_password());
                let email = format!("{local}@{domain}");
                let id = match store.employee_by_ext(c.id, ext).await? {
                    Some(e) => {
                        store.set_password(ext, &sip_password, &domain).await?;
                        e.id
                    }
                    None => {
                        store
                            .add_sip_user(c.id, ext, name, &sip_password, &domain)
                            .await?
                    }
                };
                store.set_login(id, Some(&email), Some(role)).await?;
                store.set_web_password(id, &web_password).await?;
                let admin = if role == Role::Admin { ", admin" } else { "" };
                println!(
                    "  {email:<28} web password {web_password}  (extension {ext}, {name}{admin})"
                );
                sip.push((ext, sip_password));
            }
            println!(
                "Desk phones and SIP clients (JsSIP, baresip) register with the extension and its own SIP password, not the web one:"
            );
            for (ext, pw) in sip {
                println!("  {ext}@{domain:<24} SIP password {pw}");
            }
            Ok(())
        }
    }
}
