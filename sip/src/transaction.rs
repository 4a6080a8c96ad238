//! RFC 3261 section 17 transactions (with RFC 6026's Accepted states), as pure state machines.
//!
//! Driving contract: feed messages with [`Transactions::receive`], requests and responses with
//! [`Transactions::send_request`] / [`Transactions::send_response`], and time with
//! [`Transactions::handle_timeout`] whenever `now >= poll_timeout()`. After each call drain
//! [`Transactions::poll`] until it returns `None`. Nothing here reads the clock or does IO; the
//! flow type `F` is the caller's name for a connection (a WebSocket, a UDP peer...).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

/// Transaction tables hash branch strings the peer chose: foldhash is fast and seeded per
/// table, so a peer cannot aim collisions.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

use crate::Instant;
use crate::message::{Message, Method, Request, Response, SipMessage};

/// Timer base values in milliseconds (RFC 3261 17.1.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    pub t1: u64,
    pub t2: u64,
    pub t4: u64,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: 500,
            t2: 4000,
            t4: 5000,
        }
    }
}

/// Retransmission schedule: next send and the current interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Retransmit {
    at: Instant,
    interval: u64,
}

/// What a transaction asks of its layer.
#[derive(Debug, Clone, PartialEq)]
enum TxOut {
    Transmit(Message),
    /// A server transaction's response, serialised once and kept for retransmissions.
    Sent(Wire),
    /// A response for the transaction user (client transactions).
    Response(Response),
    /// Timer B/F/H fired or the transport failed.
    Timeout,
}

#[derive(Debug, Clone, PartialEq)]
enum ClientState {
    /// INVITE: Calling (Timer A, B). Non-INVITE: Trying (Timer E, F).
    Calling {
        retransmit: Option<Retransmit>,
        timeout: Instant,
    },
    /// A provisional arrived. Non-INVITE keeps retransmitting at T2 until Timer F.
    Proceeding {
        retransmit: Option<Retransmit>,
        timeout: Option<Instant>,
    },
    /// A final non-2xx (INVITE: Timer D, keeps the ACK) or any final (non-INVITE: Timer K).
    Completed {
        ack: Option<Box<Request>>,
        until: Instant,
    },
    /// INVITE got a 2xx: retransmitted 2xx still reach the TU until Timer M.
    Accepted {
        until: Instant,
    },
    Terminated,
}

/// A client transaction (RFC 3261 17.1).
#[derive(Debug, Clone)]
struct ClientTransaction {
    request: Request,
    reliable: bool,
    timers: TimerConfig,
    state: ClientState,
}

impl ClientTransaction {
    fn start(
        request: Request,
        reliable: bool,
        timers: TimerConfig,
        now: Instant,
        out: &mut Vec<TxOut>,
    ) -> Self {
        let retransmit = (!reliable).then_some(Retransmit {
            at: now + timers.t1,
            interval: timers.t1,
        });
        out.push(TxOut::Transmit(Message::Request(request.clone())));
        ClientTransaction {
            request,
            reliable,
            timers,
            state: ClientState::Calling {
                retransmit,
                timeout: now + 64 * timers.t1,
            },
        }
    }

    fn is_invite(&self) -> bool {
        self.request.method == Method::Invite
    }

    fn on_response(&mut self, resp: Response, now: Instant, out: &mut Vec<TxOut>) {
        let t = self.timers;
        let provisional = resp.status < 200;
        match (&self.state, self.is_invite()) {
            (ClientState::Calling { .. } | ClientState::Proceeding { .. }, true) => {
                if provisional {
                    self.state = ClientState::Proceeding {
                        retransmit: None,
                        timeout: None,
                    };
                } else if resp.status < 300 {
                    self.state = ClientState::Accepted {
                        until: now + 64 * t.t1,
                    };
                } else {
                    let ack = self.ack_for(&resp);
                    out.push(TxOut::Transmit(Message::Request(ack.clone())));
                    let wait = if self.reliable { 0 } else { 32_000 };
                    self.state = ClientState::Completed {
                        ack: Some(Box::new(ack)),
                        until: now + wait,
                    };
                }
                out.push(TxOut::Response(resp));
            }
            (
                ClientState::Calling {
                    retransmit,
                    timeout,
                },
                false,
            )
            | (
                ClientState::Proceeding {
                    retransmit,
                    timeout: Some(timeout),
                },
                false,
            ) => {
                if provisional {
                    let retransmit = retransmit.map(|r| Retransmit {
                        at: r.at,
                        interval: t.t2,
                    });
                    self.state = ClientState::Proceeding {
                        retransmit,
                        timeout: Some(*timeout),
                    };
                } else {
                    let wait = if self.reliable { 0 } else { t.t4 };
                    self.state = ClientState::Completed {
                        ack: None,
                        until: now + wait,
                    };
                }
                out.push(TxOut::Response(resp));
            }
            (ClientState::Accepted { .. }, _) if (200..300).contains(&resp.status) => {
                out.push(TxOut::Response(resp));
            }
            (ClientState::Completed { ack: Some(ack), .. }, _) if resp.status >= 300 => {
                out.push(TxOut::Transmit(Message::Request((**ack).clone())));
            }
            _ => {}
        }
    }

    fn on_timeout(&mut self, now: Instant, out: &mut Vec<TxOut>) {
        let t = self.timers;
        let invite = self.is_invite();
        match &mut self.state {
            ClientState::Calling {
                retransmit,
                timeout,
            }
            | ClientState::Proceeding {
                retransmit,
                timeout: Some(timeout),
            } => {
                if now >= *timeout {
                    out.push(TxOut::Timeout);
                    self.state = ClientState::Terminated;
                    return;
                }
                if let Some(r) = retransmit
                    && now >= r.at
                {
                    let interval = if invite {
                        r.interval * 2
                    } else {
                        (r.interval * 2).min(t.t2)
                    };
                    *r = Retransmit {
                        at: now + interval,
                        interval,
                    };
                    out.push(TxOut::Transmit(Message::Request(self.request.clone())));
                }
            }
            ClientState::Completed { until, .. } | ClientState::Accepted { until } => {
                if now >= *until {
                    self.state = ClientState::Terminated;
                }
            }
            ClientState::Proceeding { timeout: None, .. } | ClientState::Terminated => {}
        }
    }

    fn next_timeout(&self) -> Option<Instant> {
        match &self.state {
            ClientState::Calling {
                retransmit,
                timeout,
            }
            | ClientState::Proceeding {
                retransmit,
                timeout: Some(timeout),
            } => Some(retransmit.map_or(*timeout, |r| r.at.min(*timeout))),
            ClientState::Completed { until, .. } | ClientState::Accepted { until } => Some(*until),
            ClientState::Proceeding { timeout: None, .. } | ClientState::Terminated => None,
        }
    }

    /// The ACK for a non-2xx final response (RFC 3261 17.1.1.3).
    fn ack_for(&self, resp: &Response) -> Request {
        let mut ack = Request::new(Method::Ack, self.request.uri.clone());
        if let Some(via) = self.request.headers.get("Via") {
            ack.headers.push("Via", via);
        }
        for name in ["Route", "From", "Call-ID"] {
            for v in self.request.headers.all(name) {
                ack.headers.push(name, v);
            }
        }
        if let Some(to) = resp.headers.get("To") {
            ack.headers.push("To", to);
        }
        let seq = self.request.cseq().map_or(1, |c| c.seq);
        ack.headers.push("CSeq", format!("{seq} ACK"));
        ack.headers.push("Max-Forwards", "70");
        ack
    }
}

/// A response as a server transaction sent it: its status and its bytes, serialised once.
/// A completed transaction keeps only this (not the parsed response) for up to 32 s over
/// UDP, so thousands of REGISTERs a second cost one buffer each, not a tree of strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wire {
    pub status: u16,
    pub bytes: Arc<[u8]>,
}

impl Wire {
    fn of(response: &Response) -> Wire {
        Wire {
            status: response.status,
            bytes: response.to_bytes().into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum ServerState {
    /// No final response yet; `last` is the last provisional, resent on a retransmission.
    Proceeding {
        last: Option<Wire>,
    },
    /// A final response went out: INVITE non-2xx (Timer G, H) or non-INVITE (Timer J).
    Completed {
        last: Wire,
        retransmit: Option<Retransmit>,
        until: Instant,
    },
    /// INVITE: the ACK arrived (Timer I).
    Confirmed {
        until: Instant,
    },
    /// INVITE: a 2xx went out; the TU may resend it (Timer L).
    Accepted {
        until: Instant,
    },
    Terminated,
}

/// A server transaction (RFC 3261 17.2).
#[derive(Debug, Clone)]
struct ServerTransaction {
    invite: bool,
    reliable: bool,
    timers: TimerConfig,
    state: ServerState,
}

impl ServerTransaction {
    fn respond(&mut self, resp: Response, now: Instant, out: &mut Vec<TxOut>) {
        let t = self.timers;
        match &self.state {
            ServerState::Proceeding { .. } => {
                let resp = Wire::of(&resp);
                out.push(TxOut::Sent(resp.clone()));
                if resp.status < 200 {
                    self.state = ServerState::Proceeding { last: Some(resp) };
                } else if self.invite && resp.status < 300 {
                    self.state = ServerState::Accepted {
                        until: now + 64 * t.t1,
                    };
                } else if self.invite {
                    let retransmit = (!self.reliable).then_some(Retransmit {
                        at: now + t.t1,
                        interval: t.t1,
                    });
                    self.state = ServerState::Completed {
                        last: resp,
                        retransmit,
                        until: now + 64 * t.t1,
                    };
                } else {
                    let wait = if self.reliable { 0 } else { 64 * t.t1 };
                    self.state = ServerState::Completed {
                        last: resp,
                        retransmit: None,
                        until: now + wait,
                    };
                }
            }
            ServerState::Accepted { .. } if (200..300).contains(&resp.status) => {
                out.push(TxOut::Sent(Wire::of(&resp)));
            }
            _ => {}
        }
    }

    fn on_request(&mut self, req: &Request, now: Instant, out: &mut Vec<TxOut>) {
        match &self.state {
            ServerState::Proceeding { last: Some(last) } => {
                out.push(TxOut::Sent(last.clone()));
            }
            ServerState::Completed { last, .. } => {
                if self.invite && req.method == Method::Ack {
                    let wait = if self.reliable { 0 } else { self.timers.t4 };
                    self.state = ServerState::Confirmed { until: now + wait };
                } else if req.method != Method::Ack {
                    out.push(TxOut::Sent(last.clone()));
                }
            }
            _ => {}
        }
    }

    fn on_timeout(&mut self, now: Instant, out: &mut Vec<TxOut>) {
        let t2 = self.timers.t2;
        match &mut self.state {
            ServerState::Completed {
                last,
                retransmit,
                until,
            } => {
                if now >= *until {
                    if self.invite {
                        out.push(TxOut::Timeout); // Timer H: no ACK came
                    }
                    self.state = ServerState::Terminated;
                } else if let Some(r) = retransmit
                    && now >= r.at
                {
                    let interval = (r.interval * 2).min(t2);
                    *r = Retransmit {
                        at: now + interval,
                        interval,
                    };
                    out.push(TxOut::Sent(last.clone()));
                }
            }
            ServerState::Confirmed { until } | ServerState::Accepted { until } => {
                if now >= *until {
                    self.state = ServerState::Terminated;
                }
            }
            ServerState::Proceeding { .. } | ServerState::Terminated => {}
        }
    }

    fn next_timeout(&self) -> Option<Instant> {
        match &self.state {
            ServerState::Completed {
                retransmit, until, ..
            } => Some(retransmit.map_or(*until, |r| r.at.min(*until))),
            ServerState::Confirmed { until } | ServerState::Accepted { until } => Some(*until),
            ServerState::Proceeding { .. } | ServerState::Terminated => None,
        }
    }
}

/// Identifies a transaction: the branch and the method (ACK matches its INVITE).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxKey {
    pub branch: String,
    pub method: String,
    pub server: bool,
}

impl TxKey {
    fn client(branch: &str, method: &Method) -> TxKey {
        TxKey {
            branch: branch.to_string(),
            method: method.as_str().to_string(),
            server: false,
        }
    }
    fn server(branch: &str, method: &Method) -> TxKey {
        let m = if *method == Method::Ack {
            Method::Invite
        } else {
            method.clone()
        };
        TxKey {
            branch: branch.to_string(),
            method: m.as_str().to_string(),
            server: true,
        }
    }
    /// The key of the INVITE server transaction a CANCEL with this key refers to.
    pub fn invite_of_cancel(&self) -> TxKey {
        TxKey {
            branch: self.branch.clone(),
            method: "INVITE".into(),
            server: true,
        }
    }
}

/// What the transaction layer tells its user.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Output<F> {
    /// Send this message on this flow.
    Transmit { flow: F, message: Message },
    /// Send these bytes on this flow: a server transaction's response (first sent or
    /// resent), serialised by the transaction, which keeps it for retransmissions.
    TransmitResponse { flow: F, response: Wire },
    /// A new request (not a retransmission); answer it with `send_response(key, ...)`.
    /// ACKs for 2xx are not transactions and come as `Ack`.
    Request {
        key: TxKey,
        request: Request,
        flow: F,
    },
    /// A response for a request sent with `send_request`.
    Response { key: TxKey, response: Response },
    /// A client transaction timed out (Timer B/F) or its flow closed: act as on a 408.
    Timeout { key: TxKey },
    /// An INVITE server transaction sent a non-2xx and no ACK came (Timer H).
    NoAck { key: TxKey },
    /// An ACK that matches no transaction (the ACK for a 2xx).
    Ack { request: Request, flow: F },
    /// A response that matches no transaction (a late 2xx retransmission), or that came on
    /// another flow than its request went out on (dropped: it may be forged).
    StrayResponse { response: Response, flow: F },
}

struct Client<F> {
    tx: ClientTransaction,
    flow: F,
}

struct Server<F> {
    tx: ServerTransaction,
    flow: F,
}

/// All transactions of one endpoint, keyed by branch and method.
pub struct Transactions<F> {
    timers: TimerConfig,
    clients: HashMap<TxKey, Client<F>>,
    servers: HashMap<TxKey, Server<F>>,
    deadlines: BinaryHeap<Reverse<(Instant, TxKey)>>,
    out: VecDeque<Output<F>>,
}

/// The key a message without an RFC 3261 branch gets: its dialog and CSeq identify it.
fn branch_of(msg: &impl SipMessage) -> String {
    match msg.branch() {
        Some(b) => b,
        None => format!(
            "legacy:{}:{}:{}",
            msg.call_id().unwrap_or_default(),
            msg.from_tag().unwrap_or_default(),
            msg.cseq().map_or(0, |c| c.seq)
        ),
    }
}

impl<F: Clone + PartialEq> Transactions<F> {
    pub fn new(timers: TimerConfig) -> Self {
        Transactions {
            timers,
            clients: HashMap::default(),
            servers: HashMap::default(),
            deadlines: BinaryHeap::new(),
            out: VecDeque::new(),
        }
    }

    /// The next output, if any. Drain after every other call.
    pub fn poll(&mut self) -> Option<Output<F>> {
        self.out.pop_front()
    }

    /// When `handle_timeout` should next be called. May be early (then nothing happens).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.peek().map(|Reverse((t, _))| *t)
    }

    /// How many transactions are alive (for metrics and tests).
    pub fn len(&self) -> usize {
        self.clients.len() + self.servers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a server transaction still waits for its final response.
    pub fn server_pending(&self, key: &TxKey) -> bool {
        self.servers
            .get(key)
            .is_some_and(|s| matches!(s.tx.state, ServerState::Proceeding { .. }))
    }

    /// Whether a server transaction has sent a provisional response and no final one yet.
    pub fn server_provisional_sent(&self, key: &TxKey) -> bool {
        self.servers
            .get(key)
            .is_some_and(|s| matches!(s.tx.state, ServerState::Proceeding { last: Some(_) }))
    }

    /// Whether a client transaction has had a provisional response (CANCEL may be sent).
    pub fn client_proceeding(&self, key: &TxKey) -> bool {
        self.clients
            .get(key)
            .is_some_and(|c| matches!(c.tx.state, ClientState::Proceeding { .. }))
    }

    /// The request a client transaction sent.
    pub fn client_request(&self, key: &TxKey) -> Option<&Request> {
        self.clients.get(key).map(|c| &c.tx.request)
    }

    fn schedule(&mut self, key: &TxKey, at: Option<Instant>) {
        if let Some(at) = at {
            self.deadlines.push(Reverse((at, key.clone())));
        }
    }

    fn emit_client(&mut self, key: &TxKey, flow: &F, outs: Vec<TxOut>) {
        for o in outs {
            self.out.push_back(match o {
                TxOut::Transmit(message) => Output::Transmit {
                    flow: flow.clone(),
                    message,
                },
                TxOut::Response(response) => Output::Response {
                    key: key.clone(),
                    response,
                },
                TxOut::Sent(response) => Output::TransmitResponse {
                    flow: flow.clone(),
                    response,
                },
                TxOut::Timeout => Output::Timeout { key: key.clone() },
            });
        }
    }

    fn emit_server(&mut self, key: &TxKey, flow: &F, outs: Vec<TxOut>) {
        for o in outs {
            self.out.push_back(match o {
                TxOut::Transmit(message) => Output::Transmit {
                    flow: flow.clone(),
                    message,
                },
                TxOut::Sent(response) => Output::TransmitResponse {
                    flow: flow.clone(),
                    response,
                },
                TxOut::Response(_) => continue,
                TxOut::Timeout => Output::NoAck { key: key.clone() },
            });
        }
    }

    /// Starts a client transaction for `request` on `flow`; the request must carry a top Via
    /// with a unique branch. `reliable` turns off retransmissions (TCP, WebSocket).
    pub fn send_request(
        &mut self,
        request: Request,
        flow: F,
        reliable: bool,
        now: Instant,
    ) -> TxKey {
        let key = TxKey::client(&branch_of(&request), &request.method);
        let mut outs = Vec::new();
        let tx = ClientTransaction::start(request, reliable, self.timers, now, &mut outs);
        self.schedule(&key, tx.next_timeout());
        self.clients.insert(
            key.clone(),
            Client {
                tx,
                flow: flow.clone(),
            },
        );
        self.emit_client(&key, &flow, outs);
        key
    }

    /// Sends a response through the server transaction `key`. A response for a transaction
    /// that has ended is dropped, except a 2xx to an INVITE, which the TU may always resend.
    pub fn send_response(&mut self, key: &TxKey, response: Response, now: Instant) {
        let Some(server) = self.servers.get_mut(key) else {
            return;
        };
        let mut outs = Vec::new();
        server.tx.respond(response, now, &mut outs);
        let (next, flow) = (server.tx.next_timeout(), server.flow.clone());
        self.schedule(key, next);
        self.emit_server(key, &flow, outs);
        self.reap(key);
    }

    /// Answers a non-INVITE server transaction statelessly and forgets it at once, as a
    /// stateless UAS may (RFC 3261 8.2.7): a digest challenge needs no Timer J state, and a
    /// retransmitted request simply gets a fresh challenge. INVITE keeps its transaction (the
    /// ACK for a non-2xx must be absorbed).
    pub fn send_response_stateless(&mut self, key: &TxKey, response: Response, now: Instant) {
        let stateless = self
            .servers
            .get(key)
            .is_some_and(|s| !s.tx.invite && matches!(s.tx.state, ServerState::Proceeding { .. }));
        if !stateless {
            return self.send_response(key, response, now);
        }
        if let Some(server) = self.servers.remove(key) {
            self.out.push_back(Output::Transmit {
                flow: server.flow,
                message: Message::Response(response),
            });
        }
    }

    /// Sends a message outside any transaction (ACK for a 2xx, a stateless reply).
    pub fn send_stateless(&mut self, message: Message, flow: F) {
        self.out.push_back(Output::Transmit { flow, message });
    }

    /// A message arrived on `flow`.
    pub fn receive(&mut self, message: Message, flow: F, now: Instant) {
        self.receive_on(message, flow, now, true);
    }

    /// Like `receive`, for a server transaction that must retransmit (UDP): marks the new
    /// transaction unreliable.
    pub fn receive_unreliable(&mut self, message: Message, flow: F, now: Instant) {
        self.receive_on(message, flow, now, false);
    }

    fn receive_on(&mut self, message: Message, flow: F, now: Instant, reliable: bool) {
        match message {
            Message::Response(response) => {
                let Some(cseq) = response.cseq() else { return };
                let key = TxKey::client(&branch_of(&response), &cseq.method);
                // A response counts only on the flow its request went out on: a branch seen
                // (or guessed) elsewhere must not let anyone answer for the callee.
                let Some(client) = self.clients.get_mut(&key).filter(|c| c.flow == flow) else {
                    self.out.push_back(Output::StrayResponse { response, flow });
                    return;
                };
                let mut outs = Vec::new();
                client.tx.on_response(response, now, &mut outs);
                let (next, cflow) = (client.tx.next_timeout(), client.flow.clone());
                self.schedule(&key, next);
                self.emit_client(&key, &cflow, outs);
                self.reap(&key);
            }
            Message::Request(request) => {
                let key = TxKey::server(&branch_of(&request), &request.method);
                if let Some(server) = self.servers.get_mut(&key) {
                    // Same branch from another flow: not a retransmission of this request,
                    // and it may not take over its transaction. Dropped.
                    if server.flow != flow {
                        return;
                    }
                    let is_2xx_ack = request.method == Method::Ack
                        && matches!(
                            server.tx.state,
                            ServerState::Accepted { .. } | ServerState::Terminated
                        );
                    if !is_2xx_ack {
                        let mut outs = Vec::new();
                        server.tx.on_request(&request, now, &mut outs);
                        let next = server.tx.next_timeout();
                        let sflow = server.flow.clone();
                        self.schedule(&key, next);
                        self.emit_server(&key, &sflow, outs);
                        self.reap(&key);
                        return;
                    }
                }
                if request.method == Method::Ack {
                    self.out.push_back(Output::Ack { request, flow });
                    return;
                }
                let tx = ServerTransaction {
                    invite: request.method == Method::Invite,
                    reliable,
                    timers: self.timers,
                    state: ServerState::Proceeding { last: None },
                };
                self.servers.insert(
                    key.clone(),
                    Server {
                        tx,
                        flow: flow.clone(),
                    },
                );
                self.out.push_back(Output::Request { key, request, flow });
            }
        }
    }

    /// Time has passed; fire due timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, _))) = self.deadlines.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, key))) = self.deadlines.pop() else {
                break;
            };
            if key.server {
                let Some(server) = self.servers.get_mut(&key) else {
                    continue;
                };
                if server.tx.next_timeout().is_none_or(|t| t > now) {
                    continue;
                }
                let mut outs = Vec::new();
                server.tx.on_timeout(now, &mut outs);
                let (next, flow) = (server.tx.next_timeout(), server.flow.clone());
                self.schedule(&key, next);
                self.emit_server(&key, &flow, outs);
            } else {
                let Some(client) = self.clients.get_mut(&key) else {
                    continue;
                };
                if client.tx.next_timeout().is_none_or(|t| t > now) {
                    continue;
                }
                let mut outs = Vec::new();
                client.tx.on_timeout(now, &mut outs);
                let (next, flow) = (client.tx.next_timeout(), client.flow.clone());
                self.schedule(&key, next);
                self.emit_client(&key, &flow, outs);
            }
            self.reap(&key);
        }
    }

    /// The transport under `flow` is gone: its client transactions time out at once and its
    /// server transactions end.
    pub fn flow_closed(&mut self, is_flow: impl Fn(&F) -> bool) {
        let dead: Vec<TxKey> = self
            .clients
            .iter()
            .filter(|(_, c)| is_flow(&c.flow) && !matches!(c.tx.state, ClientState::Terminated))
            .map(|(k, _)| k.clone())
            .collect();
        for key in dead {
            let pending = self.clients.get(&key).is_some_and(|c| {
                matches!(
                    c.tx.state,
                    ClientState::Calling { .. } | ClientState::Proceeding { .. }
                )
            });
            self.clients.remove(&key);
            if pending {
                self.out.push_back(Output::Timeout { key });
            }
        }
        self.servers.retain(|_, s| !is_flow(&s.flow));
    }

    fn reap(&mut self, key: &TxKey) {
        if key.server {
            if self
                .servers
                .get(key)
                .is_some_and(|s| s.tx.state == ServerState::Terminated)
            {
                self.servers.remove(key);
            }
        } else if self
            .clients
            .get(key)
            .is_some_and(|c| c.tx.state == ClientState::Terminated)
        {
            self.clients.remove(key);
        }
    }
}
