//! Centrala's gateway as a library, so integration tests can start it in-process.
//!
//! Codemap: [`server`] (HTTP, WebSocket edge) → [`core`] (registrar, location, proxy; one
//! task owns the state) → `centrala-sip` (sans-IO SIP). [`store`] is SQLite via sqlx;
//! [`nonce`] makes and checks digest nonces.

pub mod accounts;
pub mod api;
pub mod billing;
pub mod calling;
pub mod core;
pub mod costs;
pub mod driver;
pub mod forwarding;
pub mod headers;
pub mod limits;
pub mod mail;
pub mod mailqueue;
pub mod metrics;
pub mod nonce;
pub mod numbering;
pub mod prices_cli;
pub mod server;
pub mod sipcred;
pub mod store;
pub mod tls;
pub mod trunks;
pub mod trusted;
pub mod turn;
pub mod vmserver;
pub mod voicemail;
pub mod ws;
