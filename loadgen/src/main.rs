//! `centrala-loadgen`: many SIP-over-WebSocket softphones against a Centrala gateway.
//!
//! Every client connects from one of several loopback source addresses (127.0.0.2, .3, …, so
//! the ~28k ephemeral ports of one address are no limit), registers with digest, sends CRLF
//! keepalives and, in `mix`, places calls to other clients. Modes:
//!
//! - `hold`: N idle registered clients for T seconds; with `--gateway-pid`, the gateway's RSS
//!   before and after gives the memory per idle client.
//! - `storm`: N registered clients, then `--restart-cmd` restarts the gateway; every client
//!   reconnects with exponential back-off and full jitter; reports the time until all are
//!   registered again.
//! - `mix`: registrations and calls at steady rates for D seconds, with latency percentiles.
//! - `presence`: the logins are spread over `--login-seconds`; every client subscribes to the
//!   company directory (RFC 4662 list) and answers NOTIFYs; the login storm's NOTIFY traffic
//!   is counted, then client 0 PUBLISHes do not disturb / available in turn and every
//!   watcher times change -> NOTIFY.
//! - `bridge`: every client is a WebRTC caller (str0m: ICE, DTLS-SRTP, PCMU) that calls one
//!   extension answered by a plain RTP echo (sipp), so the gateway's media bridge relays each
//!   call both ways; packet loss, round trips and the gateway's CPU per call (see `media.rs`).
//! - `rtpengine`: the same WebRTC callers and echo without SIP, each call set up through
//!   rtpengine's ng control protocol so rtpengine relays it instead of the gateway; the same
//!   figures, with rtpengine's CPU per call (see `rtpengine.rs`).
//!
//! Traffic goes only to 127.0.0.0/8 (or ::1): other targets are refused. Every phase is bounded
//! in time, and the whole run stops by itself after `--hard-limit` seconds.

mod client;
mod media;
mod presence;
mod rtpengine;
mod stats;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use rand::{Rng, SeedableRng};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use crate::client::{Cmd, Shared};
use crate::stats::Stats;

#[derive(Parser)]
#[command(
    name = "centrala-loadgen",
    version,
    about = "SIP-over-WebSocket load generator for Centrala (loopback only)"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Args, Clone)]
struct Common {
    /// The gateway's SIP WebSocket (host must be on 127.0.0.0/8 or ::1).
    #[arg(long, default_value = "ws://127.0.0.1:8080/sip", global = true)]
    url: String,
    /// SIP domain (digest realm) of the gateway.
    #[arg(long, default_value = "bench.local", global = true)]
    domain: String,
    /// Number of clients.
    #[arg(long, short = 'n', default_value_t = 1000, global = true)]
    clients: usize,
    /// Extension of the first client; client i is first_ext + i.
    #[arg(long, default_value_t = 100_000, global = true)]
    first_ext: u64,
    /// Password of each user; `{ext}` is replaced by the extension (bench/mkusers.py's rule).
    #[arg(long, default_value = "bench{ext}", global = true)]
    password: String,
    /// Loopback source addresses to spread clients over: 127.0.0.2 … 127.0.0.(1+K).
    #[arg(long, default_value_t = 4, global = true)]
    sources: u8,
    /// Connections + registrations in flight at once during the initial ramp.
    #[arg(long, default_value_t = 256, global = true)]
    ramp_concurrency: usize,
    /// Longest time the initial registration of all clients may take, in seconds.
    #[arg(long, default_value_t = 300, global = true)]
    ramp_timeout: u64,
    /// Seconds between CRLF keepalives of one client.
    #[arg(long, default_value_t = 30, global = true)]
    keepalive: u64,
    /// Registration lifetime asked for (refreshed at 80%).
    #[arg(long, default_value_t = 600, global = true)]
    expires: u32,
    /// Per-request timeout in seconds (also the connect timeout).
    #[arg(long, default_value_t = 10, global = true)]
    timeout: u64,
    /// Reconnect back-off: first cap and largest cap, in milliseconds (full jitter).
    #[arg(long, default_value_t = 500, global = true)]
    backoff_base_ms: u64,
    #[arg(long, default_value_t = 15_000, global = true)]
    backoff_max_ms: u64,
    /// The gateway's process id, to read its memory (VmRSS) from /proc.
    #[arg(long, global = true)]
    gateway_pid: Option<u32>,
    /// Tokio worker threads of the load generator.
    #[arg(long, default_value_t = 1, global = true)]
    threads: usize,
    /// `bridge` and `rtpengine`: the callers offer no RTP header extensions (a browser offers
    /// audio level, abs-send-time, transport-wide CC and mid; rtpengine's answer drops them).
    #[arg(long, global = true)]
    no_rtp_extensions: bool,
    /// The whole run stops after this many seconds, whatever the mode.
    #[arg(long, default_value_t = 3600, global = true)]
    hard_limit: u64,
}

#[derive(Subcommand, Clone)]
enum Mode {
    /// N idle registered clients for T seconds (memory per idle client).
    Hold {
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// Register N clients, restart the gateway, time the re-registration of all.
    Storm {
        /// Shell command that restarts the gateway (kills it and starts it again).
        #[arg(long)]
        restart_cmd: String,
        /// Give up waiting for the re-registration after this many seconds.
        #[arg(long, default_value_t = 180)]
        deadline: u64,
        /// After the storm, wait this long for the new gateway's pid file and read its RSS.
        #[arg(long)]
        gateway_pid_file: Option<String>,
    },
    /// Registrations and calls at steady rates for D seconds.
    Mix {
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Re-registrations (full digest exchange) per second, over random clients.
        #[arg(long, default_value_t = 20.0)]
        reg_rate: f64,
        /// New calls per second between random pairs.
        #[arg(long, default_value_t = 10.0)]
        call_rate: f64,
        /// How long each answered call lasts before the caller hangs up.
        #[arg(long, default_value_t = 5.0)]
        call_secs: f64,
        /// How long the callee rings before answering (180, then 200), in milliseconds.
        #[arg(long, default_value_t = 0)]
        ring_ms: u64,
    },
    /// Every client subscribes to the company directory; client 0 changes its status every
    /// interval; change -> NOTIFY latency over all watchers, and the login storm's NOTIFYs.
    Presence {
        /// Length of the steady phase (probe changes), in seconds.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Interval between the probe's status changes, in milliseconds.
        #[arg(long, default_value_t = 2000)]
        changes_every_ms: u64,
        /// The clients' first logins are spread evenly over this many seconds (the storm).
        #[arg(long, default_value_t = 60.0)]
        login_seconds: f64,
        /// After the ramp, wait at most this long for every subscription and full state.
        #[arg(long, default_value_t = 120)]
        settle_timeout: u64,
        /// Subscription lifetime asked for (subscriptions are not refreshed; the gateway
        /// grants at most 3600 s).
        #[arg(long, default_value_t = 3600)]
        sub_expires: u32,
    },
    /// Bridged calls: WebRTC callers to a plain RTP echo through the media bridge, at 50
    /// packets/s each way; loss, round trips and the gateway's CPU per call.
    Bridge {
        /// The extension the echo phone registered (sipp uas_answer.xml with -rtp_echo).
        #[arg(long, default_value = "3000")]
        callee: String,
        /// Length of the measuring window, in seconds.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Seconds between the end of the ramp and the window.
        #[arg(long, default_value_t = 5)]
        warmup: u64,
    },
    /// The `bridge` workload relayed by rtpengine: WebRTC callers set up through its ng
    /// protocol (no SIP) to a plain RTP echo in this process; loss, round trips and
    /// rtpengine's CPU per call.
    Rtpengine {
        /// rtpengine's ng control socket (UDP, loopback only).
        #[arg(long, default_value = "127.0.0.1:22222")]
        ng: SocketAddr,
        /// rtpengine's process id, for its CPU time (default: the one process named
        /// `rtpengine`, if there is exactly one).
        #[arg(long)]
        rtpengine_pid: Option<u32>,
        /// Length of the measuring window, in seconds.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Seconds between the end of the ramp and the window.
        #[arg(long, default_value_t = 5)]
        warmup: u64,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.common.threads.max(1))
        .enable_all()
        .build()?;
    let limit = Duration::from_secs(cli.common.hard_limit);
    rt.block_on(async move {
        match tokio::time::timeout(limit, run(cli)).await {
            Ok(r) => r,
            Err(_) => bail!("hard limit of {limit:?} reached; stopping"),
        }
    })?;
    // Client tasks still winding down are dropped with the runtime.
    rt.shutdown_timeout(Duration::from_secs(2));
    Ok(())
}

/// Resolves the URL's host and refuses anything off this machine's loopback.
fn loopback_target(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url
        .strip_prefix("ws://")
        .context("only ws:// URLs are supported")?;
    let hostport = rest.split('/').next().unwrap_or_default();
    let hostport = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let addr = hostport
        .to_socket_addrs()
        .with_context(|| format!("resolving {hostport}"))?
        .next()
        .context("no address")?;
    if !addr.ip().is_loopback() {
        bail!("{addr} is not a loopback address: load goes to 127.0.0.0/8 or ::1 only");
    }
    Ok(addr)
}

fn rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn self_rss_kb() -> Option<u64> {
    rss_kb(std::process::id())
}

struct Fleet {
    sh: Arc<Shared>,
    cmds: Vec<mpsc::UnboundedSender<Cmd>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let c = cli.common.clone();
    let server = loopback_target(&c.url)?;
    if c.clients == 0 {
        bail!("--clients must be at least 1");
    }
    let sources: Vec<IpAddr> = if server.is_ipv4() {
        (0..c.sources.max(1))
            .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i)))
            .collect()
    } else {
        vec![IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)]
    };
    if let Mode::Bridge {
        callee,
        seconds,
        warmup,
    } = &cli.mode
    {
        return bridge(&c, server, sources, callee, *seconds, *warmup).await;
    }
    if let Mode::Rtpengine {
        ng,
        rtpengine_pid,
        seconds,
        warmup,
    } = &cli.mode
    {
        return rtpengine_mode(&c, *ng, *rtpengine_pid, sources, *seconds, *warmup).await;
    }
    let (call_secs, ring) = match &cli.mode {
        Mode::Mix {
            call_secs, ring_ms, ..
        } => (
            Duration::from_secs_f64(call_secs.max(0.0)),
            Duration::from_millis(*ring_ms),
        ),
        _ => (Duration::from_secs(1), Duration::ZERO),
    };
    let sh = Arc::new(Shared {
        url: c.url.clone(),
        server,
        domain: c.domain.clone(),
        sources: sources.clone(),
        first_ext: c.first_ext,
        password_template: c.password.clone(),
        expires: c.expires,
        keepalive: Duration::from_secs(c.keepalive.max(1)),
        timeout: Duration::from_secs(c.timeout.max(1)),
        call_secs,
        ring,
        backoff_base: Duration::from_millis(c.backoff_base_ms.max(1)),
        backoff_max: Duration::from_millis(c.backoff_max_ms.max(c.backoff_base_ms)),
        stats: Stats::default(),
        registered: AtomicI64::new(0),
        calls_in_flight: AtomicI64::new(0),
        lost: AtomicU64::new(0),
        reregistered: AtomicU64::new(0),
        ramp: Arc::new(Semaphore::new(c.ramp_concurrency.max(1))),
        use_ramp: AtomicBool::new(true),
        stopping: AtomicBool::new(false),
        watch: match &cli.mode {
            Mode::Presence { sub_expires, .. } => {
                Some(presence::Watch::new(c.first_ext, c.clients, *sub_expires))
            }
            _ => None,
        },
    });
    println!(
        "loadgen: {} clients, ext {}..{}, {} -> {}, sources {}..{}, mode {}",
        c.clients,
        c.first_ext,
        c.first_ext + c.clients as u64 - 1,
        c.url,
        server,
        sources[0],
        sources[sources.len() - 1],
        match &cli.mode {
            Mode::Hold { .. } => "hold",
            Mode::Storm { .. } => "storm",
            Mode::Mix { .. } => "mix",
            Mode::Presence { .. } => "presence",
            Mode::Bridge { .. } => "bridge",
            Mode::Rtpengine { .. } => "rtpengine",
        }
    );
    let gw_rss_before = c.gateway_pid.and_then(rss_kb);
    let lg_rss_before = self_rss_kb();
    let gw_cpu_before = c
        .gateway_pid
        .and_then(|p| presence::cpu_secs(&p.to_string()));
    let login_spread = match &cli.mode {
        Mode::Presence { login_seconds, .. } => Duration::from_secs_f64(login_seconds.max(0.0)),
        _ => Duration::ZERO,
    };

    // Ramp: start every client; at most `ramp_concurrency` connect + register at once.
    let t0 = Instant::now();
    let mut fleet = Fleet {
        sh: sh.clone(),
        cmds: Vec::with_capacity(c.clients),
        tasks: Vec::with_capacity(c.clients),
    };
    for i in 0..c.clients {
        let (tx, rx) = mpsc::unbounded_channel();
        fleet.cmds.push(tx);
        fleet.tasks.push(tokio::spawn(client::run(
            i,
            sh.clone(),
            rx,
            login_spread.mul_f64(i as f64 / c.clients as f64),
        )));
    }
    let all = c.clients as i64;
    let ramp_deadline = t0 + Duration::from_secs(c.ramp_timeout);
    let mut last_print = Instant::now();
    while sh.registered.load(Ordering::Relaxed) < all && Instant::now() < ramp_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if last_print.elapsed() >= Duration::from_secs(5) {
            last_print = Instant::now();
            println!(
                "  ramp {:>6.1}s: {} registered",
                t0.elapsed().as_secs_f64(),
                sh.registered.load(Ordering::Relaxed)
            );
        }
    }
    let ramp_time = t0.elapsed();
    sh.use_ramp.store(false, Ordering::Relaxed);
    let ramp_registered = sh.registered.load(Ordering::Relaxed);
    println!(
        "ramp: {ramp_registered}/{all} registered in {:.2} s ({:.0} registrations/s)",
        ramp_time.as_secs_f64(),
        ramp_registered as f64 / ramp_time.as_secs_f64().max(1e-9)
    );
    println!(
        "RESULT ramp clients={all} registered={ramp_registered} seconds={:.3} per_second={:.1}",
        ramp_time.as_secs_f64(),
        ramp_registered as f64 / ramp_time.as_secs_f64().max(1e-9)
    );
    report(&sh, "ramp");

    match cli.mode.clone() {
        Mode::Hold { seconds } => {
            hold(
                &c,
                &sh,
                seconds,
                gw_rss_before,
                lg_rss_before,
                ramp_registered,
            )
            .await
        }
        Mode::Storm {
            restart_cmd,
            deadline,
            gateway_pid_file,
        } => {
            storm(
                &sh,
                &restart_cmd,
                deadline,
                gateway_pid_file.as_deref(),
                all,
            )
            .await?
        }
        Mode::Mix {
            seconds,
            reg_rate,
            call_rate,
            call_secs,
            ..
        } => mix(&c, &fleet, seconds, reg_rate, call_rate, call_secs).await,
        Mode::Presence {
            seconds,
            changes_every_ms,
            login_seconds,
            settle_timeout,
            ..
        } => {
            let plan = presence::Plan {
                clients: c.clients,
                seconds,
                every: Duration::from_millis(changes_every_ms.max(1)),
                settle_timeout: Duration::from_secs(settle_timeout),
                login_seconds,
                gateway_pid: c.gateway_pid,
            };
            presence::drive(&sh, &fleet.cmds[0], plan, t0, gw_cpu_before).await;
            report(&sh, "presence");
        }
        // Handled before the fleet starts.
        Mode::Bridge { .. } | Mode::Rtpengine { .. } => {}
    }
    shutdown(fleet).await;
    Ok(())
}

async fn hold(
    c: &Common,
    sh: &Shared,
    seconds: u64,
    gw_before: Option<u64>,
    lg_before: Option<u64>,
    registered: i64,
) {
    tokio::time::sleep(Duration::from_secs(2)).await;
    let gw_after_ramp = c.gateway_pid.and_then(rss_kb);
    let lg_after_ramp = self_rss_kb();
    println!(
        "hold: {} clients registered for {seconds} s (keepalive every {} s)",
        sh.registered.load(Ordering::Relaxed),
        c.keepalive
    );
    let t = Instant::now();
    let end = t + Duration::from_secs(seconds);
    let mut min_registered = sh.registered.load(Ordering::Relaxed);
    while Instant::now() < end {
        let step = (end - Instant::now()).min(Duration::from_secs(10));
        tokio::time::sleep(step).await;
        let r = sh.registered.load(Ordering::Relaxed);
        min_registered = min_registered.min(r);
        println!(
            "  hold {:>5.0}s: {r} registered, gateway RSS {} kB, pongs {}",
            t.elapsed().as_secs_f64(),
            c.gateway_pid
                .and_then(rss_kb)
                .map_or("?".into(), |v| v.to_string()),
            sh.stats.counter("keepalive pong received")
        );
    }
    let gw_end = c.gateway_pid.and_then(rss_kb);
    let lg_end = self_rss_kb();
    let per = |before: Option<u64>, after: Option<u64>| match (before, after) {
        (Some(b), Some(a)) if registered > 0 => {
            format!("{:.2}", (a as f64 - b as f64) / registered as f64)
        }
        _ => "?".into(),
    };
    let show = |v: Option<u64>| v.map_or("?".into(), |v| v.to_string());
    println!(
        "hold: gateway RSS {} kB before, {} kB after the ramp, {} kB at the end -> {} kB per idle client (end) / {} (after ramp)",
        show(gw_before),
        show(gw_after_ramp),
        show(gw_end),
        per(gw_before, gw_end),
        per(gw_before, gw_after_ramp)
    );
    println!(
        "RESULT hold clients={registered} min_registered_during_hold={min_registered} gw_rss_before_kb={} gw_rss_after_ramp_kb={} gw_rss_end_kb={} gw_kb_per_client={} loadgen_kb_per_client={}",
        show(gw_before),
        show(gw_after_ramp),
        show(gw_end),
        per(gw_before, gw_end),
        per(lg_before, lg_end.or(lg_after_ramp)),
    );
    report(sh, "hold");
}

async fn storm(
    sh: &Shared,
    restart_cmd: &str,
    deadline: u64,
    pid_file: Option<&str>,
    all: i64,
) -> anyhow::Result<()> {
    let registered = sh.registered.load(Ordering::Relaxed);
    if registered < all {
        println!("storm: only {registered}/{all} registered before the restart; going on");
    }
    sh.stats.reset_latencies();
    let lost_before = sh.lost.load(Ordering::Relaxed);
    let rereg_before = sh.reregistered.load(Ordering::Relaxed);
    println!("storm: restarting the gateway: {restart_cmd}");
    let t0 = Instant::now();
    let status = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("sh")
            .arg("-c")
            .arg(restart_cmd)
            .status(),
    )
    .await
    .context("restart command took over 120 s")?
    .context("running the restart command")?;
    let restart_took = t0.elapsed();
    println!(
        "storm: restart command finished in {:.2} s ({status})",
        restart_took.as_secs_f64()
    );
    let end = t0 + Duration::from_secs(deadline);
    let mut last_print = Instant::now();
    let target = registered as u64;
    let mut all_lost_at = None;
    loop {
        let lost = sh.lost.load(Ordering::Relaxed) - lost_before;
        let rereg = sh.reregistered.load(Ordering::Relaxed) - rereg_before;
        if all_lost_at.is_none() && lost >= target {
            all_lost_at = Some(t0.elapsed());
        }
        if lost >= target && rereg >= target {
            break;
        }
        if Instant::now() >= end {
            println!("storm: deadline reached");
            break;
        }
        if last_print.elapsed() >= Duration::from_secs(2) {
            last_print = Instant::now();
            println!(
                "  storm {:>6.1}s: {lost} lost, {rereg} registered again, {} registered now",
                t0.elapsed().as_secs_f64(),
                sh.registered.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = t0.elapsed();
    let rereg = sh.reregistered.load(Ordering::Relaxed) - rereg_before;
    let lost = sh.lost.load(Ordering::Relaxed) - lost_before;
    println!(
        "storm: {rereg}/{lost} clients registered again {:.2} s after the restart began (restart command {:.2} s; all connections lost by {:.2} s)",
        took.as_secs_f64(),
        restart_took.as_secs_f64(),
        all_lost_at.map_or(f64::NAN, |d| d.as_secs_f64())
    );
    let mut gw_rss = String::from("?");
    if let Some(pf) = pid_file
        && let Some(pid) = std::fs::read_to_string(pf)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        && let Some(kb) = rss_kb(pid)
    {
        gw_rss = kb.to_string();
    }
    println!(
        "RESULT storm clients={target} lost={lost} reregistered={rereg} seconds={:.3} restart_cmd_seconds={:.3} gw_rss_after_kb={gw_rss}",
        took.as_secs_f64(),
        restart_took.as_secs_f64()
    );
    report(sh, "storm");
    Ok(())
}

async fn mix(
    c: &Common,
    fleet: &Fleet,
    seconds: u64,
    reg_rate: f64,
    call_rate: f64,
    call_secs: f64,
) {
    let sh = &fleet.sh;
    let n = fleet.cmds.len();
    sh.stats.reset_latencies();
    let calls_before = sh.stats.counter("calls completed");
    println!(
        "mix: {seconds} s of {reg_rate} registrations/s and {call_rate} calls/s ({call_secs} s each) over {n} clients"
    );
    let mut rng = rand::rngs::StdRng::from_entropy();
    let t = Instant::now();
    let end = t + Duration::from_secs(seconds);
    let tick = Duration::from_millis(10);
    let mut reg_tokens = 0.0f64;
    let mut call_tokens = 0.0f64;
    let mut last = Instant::now();
    let mut last_print = Instant::now();
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while Instant::now() < end {
        interval.tick().await;
        let now = Instant::now();
        let dt = (now - last).as_secs_f64();
        last = now;
        reg_tokens += reg_rate * dt;
        call_tokens += call_rate * dt;
        while reg_tokens >= 1.0 {
            reg_tokens -= 1.0;
            let i = rng.gen_range(0..n);
            let _ = fleet.cmds[i].send(Cmd::Register);
        }
        while call_tokens >= 1.0 && n >= 2 {
            call_tokens -= 1.0;
            let i = rng.gen_range(0..n);
            let mut j = rng.gen_range(0..n - 1);
            if j >= i {
                j += 1;
            }
            let _ = fleet.cmds[i].send(Cmd::Call {
                to: c.first_ext + j as u64,
            });
        }
        if last_print.elapsed() >= Duration::from_secs(10) {
            last_print = Instant::now();
            let counters = sh.stats.counters();
            println!(
                "  mix {:>5.0}s: {} registered, calls completed {}, in flight {}, failed {}, REGISTER ok {}",
                t.elapsed().as_secs_f64(),
                sh.registered.load(Ordering::Relaxed),
                counters.get("calls completed").unwrap_or(&0) - calls_before,
                sh.calls_in_flight.load(Ordering::Relaxed),
                counters.get("calls failed").unwrap_or(&0) + sh.stats.counter_prefix("call failed"),
                counters.get("REGISTER ok").unwrap_or(&0),
            );
        }
    }
    // Let the calls in progress end (bounded).
    let drain_end =
        Instant::now() + Duration::from_secs_f64(call_secs + c.timeout as f64 * 2.0 + 2.0);
    while sh.calls_in_flight.load(Ordering::Relaxed) > 0 && Instant::now() < drain_end {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = t.elapsed().as_secs_f64();
    let completed = sh.stats.counter("calls completed") - calls_before;
    let failed = sh.stats.counter("calls failed") + sh.stats.counter_prefix("call failed");
    let sums = sh.stats.summaries();
    let get = |k: &str| {
        sums.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, s)| *s)
            .unwrap_or_default()
    };
    let reg = get("register total (401 + 200)");
    let setup = get("call setup total (INVITE .. 200)");
    println!(
        "RESULT mix seconds={elapsed:.1} calls_completed={completed} calls_failed={failed} still_in_flight={} register_p50_ms={:.2} register_p90_ms={:.2} register_p99_ms={:.2} register_max_ms={:.2} setup_p50_ms={:.2} setup_p90_ms={:.2} setup_p99_ms={:.2} setup_max_ms={:.2}",
        sh.calls_in_flight.load(Ordering::Relaxed),
        reg.p50,
        reg.p90,
        reg.p99,
        reg.max,
        setup.p50,
        setup.p90,
        setup.p99,
        setup.max
    );
    report(sh, "mix");
}

fn report(sh: &Shared, phase: &str) {
    println!("--- {phase}: latency (ms) ---");
    println!(
        "{:<36} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "request", "count", "p50", "p90", "p99", "max"
    );
    for (k, s) in sh.stats.summaries() {
        println!(
            "{:<36} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            k, s.count, s.p50, s.p90, s.p99, s.max
        );
    }
    println!("--- {phase}: counters ---");
    for (k, v) in sh.stats.counters() {
        println!("{k:<44} {v:>10}");
    }
}

async fn shutdown(fleet: Fleet) {
    fleet.sh.stopping.store(true, Ordering::Relaxed);
    for tx in &fleet.cmds {
        let _ = tx.send(Cmd::Shutdown);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    for t in fleet.tasks {
        let left = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, t).await.is_err() {
            break;
        }
    }
}

/// The `bridge` mode (see `media.rs`).
async fn bridge(
    c: &Common,
    server: SocketAddr,
    sources: Vec<IpAddr>,
    callee: &str,
    seconds: u64,
    warmup: u64,
) -> anyhow::Result<()> {
    use media::{MediaCfg, MediaStats};
    let cfg = Arc::new(MediaCfg {
        url: c.url.clone(),
        server,
        domain: c.domain.clone(),
        first_ext: c.first_ext,
        password_template: c.password.clone(),
        callee: callee.to_string(),
        sources,
        rtp_extensions: !c.no_rtp_extensions,
    });
    let st = Arc::new(MediaStats::new());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ramp = Arc::new(Semaphore::new(c.ramp_concurrency.max(1)));
    media::epoch();
    println!(
        "loadgen bridge: {} WebRTC callers (ext {}..) -> {callee} (RTP echo) via {}",
        c.clients, c.first_ext, c.url
    );
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..c.clients)
        .map(|i| {
            tokio::spawn(media::caller(
                i,
                cfg.clone(),
                st.clone(),
                ramp.clone(),
                stop_rx.clone(),
            ))
        })
        .collect();
    let relay = Relay {
        pid: c.gateway_pid,
        name: "gateway",
        key: "gw",
        path: "through the bridge twice",
        mode: "bridge",
    };
    measure_media(c, &st, tasks, stop_tx, t0, &relay, seconds, warmup).await
}

/// The relay whose CPU a media run measures, and how the report names it.
struct Relay {
    pid: Option<u32>,
    /// In the report's sentences, and (`key`) its RESULT line's keys.
    name: &'static str,
    key: &'static str,
    /// What a round trip passes through.
    path: &'static str,
    /// The RESULT line's mode.
    mode: &'static str,
}

/// The ramp, warm-up, window and report shared by the `bridge` and `rtpengine` modes: waits
/// until every caller has media (or failed), measures loss, round trips and CPU over the
/// window, then stops the callers.
#[allow(clippy::too_many_arguments)]
async fn measure_media(
    c: &Common,
    st: &media::MediaStats,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop_tx: tokio::sync::watch::Sender<bool>,
    t0: Instant,
    relay: &Relay,
    seconds: u64,
    warmup: u64,
) -> anyhow::Result<()> {
    use media::{MediaStats, now_ns};
    let n = c.clients as u64;
    let deadline = t0 + Duration::from_secs(c.ramp_timeout);
    let mut last_print = Instant::now();
    let counts = |st: &MediaStats| {
        (
            st.registered.load(Ordering::Relaxed),
            st.answered.load(Ordering::Relaxed),
            st.connected.load(Ordering::Relaxed),
            st.failed.load(Ordering::Relaxed),
        )
    };
    loop {
        let (r, a, k, f) = counts(st);
        if k + f >= n || Instant::now() >= deadline {
            break;
        }
        if last_print.elapsed() >= Duration::from_secs(5) {
            last_print = Instant::now();
            println!(
                "  ramp {:>6.1}s: registered {r}, answered {a}, media {k}, failed {f}",
                t0.elapsed().as_secs_f64()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (r, a, k, f) = counts(st);
    println!(
        "ramp: {k}/{n} calls with media in {:.1} s (registered {r}, answered {a}, failed {f})",
        t0.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(warmup)).await;
    let gw_cpu0 = relay.pid.and_then(|p| presence::cpu_secs(&p.to_string()));
    let lg_cpu0 = presence::cpu_secs("self");
    let held_before = st.live.load(Ordering::Relaxed).max(0) as u64;
    let w0 = Instant::now();
    st.window_start.store(now_ns().max(1), Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    st.window_end.store(now_ns(), Ordering::Relaxed);
    let window = w0.elapsed().as_secs_f64();
    let gw_cpu = relay
        .pid
        .and_then(|p| Some(presence::cpu_secs(&p.to_string())? - gw_cpu0?));
    let lg_cpu = presence::cpu_secs("self").zip(lg_cpu0).map(|(b, a)| b - a);
    let held_after = st.live.load(Ordering::Relaxed).max(0) as u64;
    // Packets sent at the window's end are still on their way.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    let sent = st.sent.load(Ordering::Relaxed);
    let received = st.received.load(Ordering::Relaxed);
    let loss = if sent == 0 {
        100.0
    } else {
        100.0 * sent.saturating_sub(received) as f64 / sent as f64
    };
    let mut rtts = std::mem::take(&mut *st.rtts.lock().unwrap_or_else(|e| e.into_inner()));
    rtts.sort_unstable();
    let pct = |q: f64| -> f64 {
        if rtts.is_empty() {
            return 0.0;
        }
        let i = ((rtts.len() as f64 * q).ceil() as usize).clamp(1, rtts.len()) - 1;
        f64::from(rtts[i]) / 1000.0
    };
    let calls = held_before.min(held_after);
    println!(
        "window {window:.1} s: {calls} calls held, {sent} packets sent, {received} back, loss {loss:.3} %"
    );
    println!(
        "round trip {} (ms): p50 {:.2}, p90 {:.2}, p99 {:.2}, max {:.2}",
        relay.path,
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
    if let Some(g) = gw_cpu {
        println!(
            "{} CPU: {:.1} % of one core ({:.3} % per call); load generator {:.1} %",
            relay.name,
            100.0 * g / window,
            100.0 * g / window / calls.max(1) as f64,
            100.0 * lg_cpu.unwrap_or(0.0) / window
        );
    }
    println!(
        "RESULT {} calls={calls} sent={sent} received={received} loss_pct={loss:.4} rtt_p50_ms={:.3} rtt_p99_ms={:.3} rtt_max_ms={:.3} {}_cpu_pct={:.1} {}_cpu_pct_per_call={:.4} loadgen_cpu_pct={:.1}",
        relay.mode,
        pct(0.5),
        pct(0.99),
        pct(1.0),
        relay.key,
        gw_cpu.map_or(0.0, |g| 100.0 * g / window),
        relay.key,
        gw_cpu.map_or(0.0, |g| 100.0 * g / window / calls.max(1) as f64),
        100.0 * lg_cpu.unwrap_or(0.0) / window
    );
    Ok(())
}

/// The `rtpengine` mode (see `rtpengine.rs`).
async fn rtpengine_mode(
    c: &Common,
    ng: SocketAddr,
    pid: Option<u32>,
    sources: Vec<IpAddr>,
    seconds: u64,
    warmup: u64,
) -> anyhow::Result<()> {
    if !ng.ip().is_loopback() {
        bail!("{ng} is not a loopback address: load goes to 127.0.0.0/8 or ::1 only");
    }
    let pid = pid.or_else(find_rtpengine);
    if pid.is_none() {
        println!("rtpengine's pid not given nor found: its CPU is not measured");
    }
    let echo = rtpengine::start_echo(ng.ip())?;
    let cfg = Arc::new(rtpengine::RtpengineCfg {
        ng,
        sources,
        echo,
        rtp_extensions: !c.no_rtp_extensions,
    });
    let st = Arc::new(media::MediaStats::new());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ramp = Arc::new(Semaphore::new(c.ramp_concurrency.max(1)));
    media::epoch();
    println!(
        "loadgen rtpengine: {} WebRTC callers -> RTP echo {echo} via rtpengine (ng {ng}, pid {})",
        c.clients,
        pid.map_or("?".into(), |p| p.to_string())
    );
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..c.clients)
        .map(|i| {
            tokio::spawn(rtpengine::caller(
                i,
                cfg.clone(),
                st.clone(),
                ramp.clone(),
                stop_rx.clone(),
            ))
        })
        .collect();
    let relay = Relay {
        pid,
        name: "rtpengine",
        key: "rtpengine",
        path: "through rtpengine twice",
        mode: "rtpengine",
    };
    measure_media(c, &st, tasks, stop_tx, t0, &relay, seconds, warmup).await
}

/// The pid of the one process named `rtpengine`, if there is exactly one.
fn find_rtpengine() -> Option<u32> {
    let mut found = std::fs::read_dir("/proc").ok()?.filter_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim() == "rtpengine").then_some(pid)
    });
    let first = found.next()?;
    found.next().is_none().then_some(first)
}
