//! The tokio shell around the sans-IO [`Core`]: it owns the clock, the sockets (each stream
//! connection's outbound queue and the UDP socket) and the store, and nothing else. Inputs
//! from the edge and the API go to the core with the time; the core's outputs are carried
//! out here: messages sent, connections closed, store lookups run on their own tasks (the
//! core never waits on them) with their answers fed back. Metrics are published from the
//! core's counts once a second.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use centrala_sip::message::Message;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::{debug, error, warn};

use crate::core::{Answer, Core, FlowId, Input, Output, Query, Registrations, Transport};
use crate::metrics::Metrics;
use crate::store::Store;

/// What the core sends to one stream connection. futures' unbounded channel allocates a node
/// per queued message and keeps only a small shared state; tokio's reserves a 32-slot block
/// and cache-padded state up front (~1 KB), which an idle client would carry for hours.
pub type Outbound = futures_channel::mpsc::UnboundedSender<ToConn>;

/// What the edge makes of a datagram from an address: an input for the core, or nothing.
pub type OnDatagram = Box<dyn FnMut(&[u8], SocketAddr) -> Option<CoreInput> + Send>;

/// The UDP socket the driver reads, and what the edge makes of each datagram: its checks
/// (flood guard, keepalives, malformed messages answered) and the input for the core, if any.
pub struct UdpIn {
    pub socket: Arc<UdpSocket>,
    pub on_datagram: OnDatagram,
}

/// A connection's number (its [`FlowId`]), unique for the life of the process.
pub type ConnId = u64;

/// Opens a connection the core asked for ([`Output::Connect`]): to `SocketAddr` over
/// `Transport` (TLS: checking the peer is the `String` name), as connection `ConnId`,
/// writing what arrives on the receiver (the sender is its own copy, for keepalive
/// answers); a failure comes back as [`CoreInput::Closed`].
pub type Connector = Box<
    dyn Fn(
            ConnId,
            SocketAddr,
            Transport,
            String,
            Outbound,
            futures_channel::mpsc::UnboundedReceiver<ToConn>,
        ) + Send,
>;

/// What a stream connection is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToConn {
    /// A whole SIP message to write (16 bytes: a boxed `str`, not a `String`).
    Sip(Box<str>),
    /// Close the connection (the account's access was revoked).
    Close,
}

/// What connection tasks and the API tell the core.
#[derive(Debug)]
pub enum CoreInput {
    /// A stream connection (WebSocket, TCP, TLS) opened; what it is told goes to `sender`.
    Connected {
        conn: ConnId,
        sender: Outbound,
        peer: SocketAddr,
        transport: Transport,
    },
    Message {
        conn: ConnId,
        message: Message,
    },
    /// A message arrived over UDP from `peer`.
    Datagram {
        peer: SocketAddr,
        message: Message,
    },
    Closed {
        conn: ConnId,
    },
    /// The in-process voicemail service connects: calls for voicemail rules go to `sender`.
    Voicemail {
        conn: ConnId,
        sender: Outbound,
    },
    /// An extension's account changed (see [`Input::AccountChanged`]).
    AccountChanged {
        company: i64,
        ext: String,
        drop: Registrations,
    },
    /// An extension's voicemail changed (see [`Input::MailboxChanged`]).
    MailboxChanged {
        company: i64,
        ext: String,
    },
    /// A person's own status was set through the API (already stored).
    PresenceChoice {
        company: i64,
        ext: String,
        choice: crate::core::Choice,
    },
    /// A company's employees changed.
    RosterChanged {
        company: i64,
    },
    /// The devices registered on an extension, for the devices page.
    Devices {
        company: i64,
        ext: String,
        reply: tokio::sync::oneshot::Sender<Vec<crate::core::DeviceInfo>>,
    },
    /// A device credential was revoked (already deleted from the store): the devices that
    /// registered with it are removed at once.
    CredentialRevoked {
        company: i64,
        ext: String,
        username: String,
    },
    /// The trunks changed (see [`Input::Trunks`]).
    Trunks(Vec<crate::trunks::CoreTrunk>),
    /// Remove a device (see [`crate::core::Core::remove_device`]); the reply says whether
    /// there was one.
    RemoveDevice {
        company: i64,
        ext: String,
        id: String,
        reply: tokio::sync::oneshot::Sender<bool>,
    },
}

/// The driver's state: the core and the IO it stands for.
pub struct Driver {
    core: Core,
    senders: crate::core::HashMap<FlowId, Outbound>,
    udp: Option<Arc<UdpSocket>>,
    store: Store,
    metrics: Arc<Metrics>,
    epoch: tokio::time::Instant,
    answers: mpsc::UnboundedSender<(u64, Answer)>,
    /// Finished calls, to the writer task (batched into one transaction).
    records: mpsc::UnboundedSender<crate::core::CallRecord>,
    /// Opens the connections the core asks for (none: they fail at once).
    connector: Option<Connector>,
}

impl Driver {
    /// The driver of `core`, whose `now == 0` is `epoch`.
    pub fn new(
        core: Core,
        epoch: tokio::time::Instant,
        udp: Option<Arc<UdpSocket>>,
        store: Store,
        metrics: Arc<Metrics>,
    ) -> (Driver, mpsc::UnboundedReceiver<(u64, Answer)>) {
        let (answers, answered) = mpsc::unbounded_channel();
        let (records, to_write) = mpsc::unbounded_channel();
        tokio::spawn(write_records(store.clone(), to_write));
        (
            Driver {
                core,
                senders: Default::default(),
                udp,
                store,
                metrics,
                epoch,
                answers,
                records,
                connector: None,
            },
            answered,
        )
    }

    /// Lets the core open connections (to TCP trunks).
    pub fn set_connector(&mut self, connector: Connector) {
        self.connector = Some(connector);
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Runs until every sender of `rx` is gone. UDP datagrams are read here, in the core's
    /// own task (`udp_in`): a hop through the queue to another task cost a wake-up and a
    /// thread switch per datagram (10-15% of the CPU time per REGISTER, bench/profile.sh).
    pub async fn run(
        mut self,
        mut rx: mpsc::Receiver<CoreInput>,
        mut answered: mpsc::UnboundedReceiver<(u64, Answer)>,
        mut udp_in: Option<UdpIn>,
    ) {
        let mut publish = tokio::time::interval(Duration::from_secs(1));
        publish.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // One timer, moved only when the core's next deadline changes (a new timer per loop
        // was a timer-wheel insertion and removal per message).
        let far = Duration::from_secs(3600);
        let timer = tokio::time::sleep(far);
        tokio::pin!(timer);
        // The deadline the timer is set for (`Some(None)`: none, it sleeps an hour); `None`
        // once it has fired.
        let mut armed: Option<Option<u64>> = None;
        // Choices other than "available" survive a restart: the core learns them first.
        match self.store.presence_choices().await {
            Ok(list) => {
                let now = self.now();
                for (company, ext, choice) in list {
                    self.core.handle(
                        Input::PresenceChoice {
                            company,
                            ext,
                            choice,
                        },
                        now,
                    );
                }
                self.drain();
            }
            Err(e) => warn!(error = %e, "presence choices not loaded"),
        }
        let mut buf = vec![0u8; if udp_in.is_some() { 65_536 } else { 0 }];
        let udp_socket = udp_in.as_ref().map(|u| u.socket.clone());
        loop {
            let wake = self.core.poll_timeout();
            if armed != Some(wake) {
                armed = Some(wake);
                let at = wake.map_or_else(
                    || tokio::time::Instant::now() + far,
                    |t| self.epoch + Duration::from_millis(t),
                );
                timer.as_mut().reset(at);
            }
            tokio::select! {
                input = rx.recv() => {
                    let Some(input) = input else { break };
                    self.input(input);
                }
                Some((id, answer)) = answered.recv() => {
                    let now = self.now();
                    self.core.handle(Input::Answer { id, answer }, now);
                }
                ready = async {
                    match &udp_socket {
                        Some(socket) => socket.readable().await,
                        None => std::future::pending().await,
                    }
                }, if udp_socket.is_some() => {
                    if let (Ok(()), Some(u)) = (ready, udp_in.as_mut()) {
                        self.datagrams(u, &mut buf);
                    }
                    continue;
                }
                _ = &mut timer => {
                    armed = None;
                    let now = self.now();
                    self.core.handle_timeout(now);
                }
                _ = publish.tick() => {
                    self.metrics.publish(&self.core.stats(), rx.len());
                }
            }
            self.drain();
        }
    }

    /// Reads the datagrams waiting (at most 64, then the other inputs get their turn), each
    /// through the edge's checks and into the core.
    fn datagrams(&mut self, udp: &mut UdpIn, buf: &mut [u8]) {
        for _ in 0..64 {
            match udp.socket.try_recv_from(buf) {
                Ok((n, peer)) => {
                    if let Some(input) = (udp.on_datagram)(&buf[..n], peer) {
                        self.input(input);
                        self.drain();
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                // ICMP errors surface here on some systems; they end nothing.
                Err(e) => debug!(error = %e, "udp receive error"),
            }
        }
    }

    fn input(&mut self, input: CoreInput) {
        let now = self.now();
        let input = match input {
            CoreInput::Connected {
                conn,
                sender,
                peer,
                transport,
            } => {
                self.senders.insert(FlowId(conn), sender);
                Input::Connected {
                    flow: FlowId(conn),
                    peer,
                    transport,
                }
            }
            CoreInput::Voicemail { conn, sender } => {
                self.senders.insert(FlowId(conn), sender);
                let flow = FlowId(conn);
                self.core.handle(
                    Input::Connected {
                        flow,
                        peer: SocketAddr::from(([127, 0, 0, 1], 0)),
                        transport: Transport::Tcp,
                    },
                    now,
                );
                Input::Voicemail { flow }
            }
            CoreInput::Message { conn, message } => Input::Message {
                flow: FlowId(conn),
                message,
            },
            CoreInput::Datagram { peer, message } => Input::Datagram { peer, message },
            CoreInput::Closed { conn } => {
                self.senders.remove(&FlowId(conn));
                Input::Closed { flow: FlowId(conn) }
            }
            CoreInput::MailboxChanged { company, ext } => Input::MailboxChanged { company, ext },
            CoreInput::AccountChanged { company, ext, drop } => {
                Input::AccountChanged { company, ext, drop }
            }
            CoreInput::PresenceChoice {
                company,
                ext,
                choice,
            } => Input::PresenceChoice {
                company,
                ext,
                choice,
            },
            CoreInput::RosterChanged { company } => Input::RosterChanged { company },
            CoreInput::Trunks(t) => Input::Trunks(t),
            CoreInput::Devices {
                company,
                ext,
                reply,
            } => {
                let _ = reply.send(self.core.devices(company, &ext, now));
                return;
            }
            CoreInput::CredentialRevoked {
                company,
                ext,
                username,
            } => {
                self.core.credential_revoked(company, &ext, &username, now);
                return;
            }
            CoreInput::RemoveDevice {
                company,
                ext,
                id,
                reply,
            } => {
                let _ = reply.send(self.core.remove_device(company, &ext, &id, now));
                return;
            }
        };
        self.core.handle(input, now);
    }

    /// Carries out everything the core asked for.
    fn drain(&mut self) {
        while let Some(out) = self.core.poll_output() {
            match out {
                Output::Stream { flow, text } => {
                    if let Some(s) = self.senders.get(&flow) {
                        let _ = s.unbounded_send(ToConn::Sip(text));
                    }
                }
                Output::Datagram { to, bytes } => {
                    if let Some(sock) = &self.udp
                        && let Err(e) = sock.try_send_to(&bytes, to)
                    {
                        debug!(%to, error = %e, "udp send failed");
                    }
                }
                Output::Close { flow } => {
                    if let Some(s) = self.senders.get(&flow) {
                        let _ = s.unbounded_send(ToConn::Close);
                    }
                }
                Output::TollFraud {
                    company,
                    ext,
                    calls,
                } => {
                    let store = self.store.clone();
                    tokio::spawn(async move {
                        if let Err(e) = store.suspend_outside(company, &ext, calls).await {
                            warn!(error = %e, company, ext, "toll fraud: the suspension was not stored");
                        }
                    });
                }
                Output::Connect {
                    flow,
                    to,
                    transport,
                    name,
                } => {
                    let (tx, rx) = futures_channel::mpsc::unbounded::<ToConn>();
                    match &self.connector {
                        Some(connect) => {
                            self.senders.insert(flow, tx.clone());
                            connect(flow.0, to, transport, name, tx, rx);
                        }
                        None => {
                            let now = self.now();
                            self.core.handle(Input::Closed { flow }, now);
                        }
                    }
                }
                Output::Lookup { id, query } => self.lookup(id, query),
                Output::SaveChoice {
                    company,
                    ext,
                    choice,
                } => {
                    let store = self.store.clone();
                    tokio::spawn(async move {
                        if let Err(e) = store.save_presence(company, &ext, choice).await {
                            warn!(error = %e, company, ext, "presence choice not stored");
                        }
                    });
                }
                Output::Record(record) => {
                    let _ = self.records.send(*record);
                }
            }
        }
    }

    /// Runs a store lookup on its own task; the answer comes back through `answers`.
    fn lookup(&self, id: u64, query: Query) {
        let (store, answers, metrics) = (
            self.store.clone(),
            self.answers.clone(),
            self.metrics.clone(),
        );
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let answer = match &query {
                Query::User { company, ext } => {
                    store.find_sip_user(*company, ext).await.map(Answer::User)
                }
                Query::Domain { host } => store
                    .company_by_domain(host)
                    .await
                    .map(|c| Answer::Domain(c.map(|c| c.id))),
                Query::Number {
                    company: Some(c),
                    number,
                } => store
                    .ext_for_number(*c, number)
                    .await
                    .map(|e| Answer::Number(e.map(|e| (*c, e)))),
                Query::Number {
                    company: None,
                    number,
                } => store.owner_of_number(number).await.map(Answer::Number),
                Query::Mailbox { company, ext } => {
                    mailbox_of(&store, *company, ext)
                        .await
                        .map(|mailbox| Answer::Mailbox {
                            company: *company,
                            ext: ext.clone(),
                            mailbox,
                        })
                }
                Query::Roster { company } => {
                    store.roster(*company).await.map(|people| Answer::Roster {
                        company: *company,
                        people,
                    })
                }
            };
            let answer = answer.unwrap_or_else(|e| {
                warn!(error = %e, ?query, "store lookup failed");
                Answer::Failed(e.to_string())
            });
            metrics.lookup_done(
                &query,
                started.elapsed(),
                matches!(answer, Answer::Failed(_)),
            );
            let _ = answers.send((id, answer));
        });
    }
}

/// Writes finished calls: what has arrived meanwhile goes in one transaction (at thousands
/// of calls a second, one insert each would be the store's whole capacity). A failed write
/// is retried once a second; records wait in memory meanwhile. A record the database refuses
/// for what it is (a constraint) is logged and left out, so it cannot hold up the others.
async fn write_records(store: Store, mut rx: mpsc::UnboundedReceiver<crate::core::CallRecord>) {
    let mut batch = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < 1000 {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        loop {
            match store.record_calls(&batch).await {
                Ok(()) => break,
                Err(e) if e.is_constraint() => {
                    // One of them is refused: each on its own, the refused ones left out.
                    let mut kept = Vec::new();
                    for r in batch.drain(..) {
                        match store.record_calls(std::slice::from_ref(&r)).await {
                            Ok(()) => {}
                            Err(e) if e.is_constraint() => {
                                error!(error = %e, call_id = %r.sip_call_id, "call record refused by the database; left out");
                            }
                            Err(_) => kept.push(r),
                        }
                    }
                    batch = kept;
                    if batch.is_empty() {
                        break;
                    }
                }
                Err(e) => {
                    warn!(error = %e, records = batch.len(), "call records not stored; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        batch.clear();
    }
}

/// An extension's voicemail counts (zero when nobody has that extension).
async fn mailbox_of(
    store: &Store,
    company: i64,
    ext: &str,
) -> Result<centrala_sip::mwi::Mailbox, crate::store::StoreError> {
    let Some(user) = store.find_sip_user(company, ext).await? else {
        return Ok(centrala_sip::mwi::Mailbox::default());
    };
    let (new, old) = store.voicemail_counts(user.employee_id).await?;
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(centrala_sip::mwi::Mailbox {
        new: count(new),
        old: count(old),
    })
}
