//! `centrala`: the gateway binary (serve) and its administration commands (user, demo).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context;
use centrala_gateway::limits::Limits;
use centrala_gateway::server::{self, Listeners, ServeConfig};
use centrala_gateway::store::Store;
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
        /// A peer (a SIP trunk, a load generator) not challenged for out-of-dialog requests
        /// other than REGISTER. Repeatable.
        #[arg(long = "trusted-peer")]
        trusted_peers: Vec<IpAddr>,
        /// Requests per source address per 2 s before it is banned for a minute.
        #[arg(long, default_value_t = Limits::default().flood_max_requests)]
        flood_limit: u32,
        /// Open connections allowed per source address.
        #[arg(long, default_value_t = Limits::default().max_connections_per_ip)]
        max_connections_per_ip: usize,
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
    /// Creates (or resets) the demo company: extensions 101, 102 and 103 with new passwords,
    /// printed on the console.
    Demo {
        #[arg(long, default_value = "data", env = "CENTRALA_DATA")]
        data: PathBuf,
        #[arg(long, env = "CENTRALA_DOMAIN")]
        domain: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Adds a user.
    Add {
        #[arg(long)]
        ext: String,
        #[arg(long)]
        name: String,
        /// The SIP password (at least 6 characters). Stored only as hashes.
        #[arg(long, env = "CENTRALA_USER_PASSWORD")]
        password: String,
    },
    /// Lists users.
    List,
    /// Removes a user.
    Remove {
        #[arg(long)]
        ext: String,
    },
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

fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
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
            trusted_peers,
            flood_limit,
            max_connections_per_ip,
            sip_tls,
            https,
            tls_cert,
            tls_key,
        } => {
            let store = open(&data).await?;
            let domain = domain(&store, flag).await?;
            for u in store.list_users().await? {
                if u.realm != domain {
                    tracing::warn!(ext = %u.ext, realm = %u.realm, "user's password was set for another domain; set it again with `centrala user add`");
                }
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
            cfg.limits.flood_max_requests = flood_limit;
            cfg.limits.max_connections_per_ip = max_connections_per_ip;
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
                } => {
                    let domain = domain(&store, flag).await?;
                    store.add_user(&ext, &name, &password, &domain).await?;
                    println!("added {ext} ({name}) in {domain}");
                }
                UserCommand::List => {
                    let users = store.list_users().await?;
                    if users.is_empty() {
                        println!("no users");
                    }
                    for u in users {
                        println!("{}\t{}\t{}", u.ext, u.name, u.realm);
                    }
                }
                UserCommand::Remove { ext } => {
                    store.remove_user(&ext).await?;
                    println!("removed {ext}");
                }
            }
            Ok(())
        }
        Command::Demo { data, domain: flag } => {
            let store = open(&data).await?;
            let domain = domain(&store, flag).await?;
            println!("Demo company in {domain} — log in at the web app with:");
            for (ext, name) in [
                ("101", "Alice Nowak"),
                ("102", "Bartek Kowalski"),
                ("103", "Celina Wiśniewska"),
            ] {
                let password = random_password();
                match store.find_user(ext).await? {
                    Some(_) => store.set_password(ext, &password, &domain).await?,
                    None => store.add_user(ext, name, &password, &domain).await?,
                }
                println!("  extension {ext}  password {password}  ({name})");
            }
            Ok(())
        }
    }
}
