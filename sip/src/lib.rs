//! Centrala's SIP, sans-IO: messages ([`message`]), digest authentication ([`digest`]),
//! RFC 3261 transactions ([`transaction`]), dialogs ([`dialog`]), presence documents
//! ([`presence`]: PIDF, dialog-info, resource lists) and the softphone's user agent ([`ua`]).
//!
//! Invariants: this crate does no IO, spawns nothing and never reads the clock. Callers pass
//! time in as [`Instant`] (milliseconds from any epoch they choose) and randomness as a seed.
//! The browser (web/) and the gateway (gateway/) each drive it with bytes and "now".

pub mod dialog;
pub mod digest;
pub mod framing;
pub mod message;
pub mod mwi;
pub mod presence;
pub mod rng;
pub mod sdp;
pub mod transaction;
pub mod ua;

/// A point in time, in milliseconds since an epoch the driver chooses.
pub type Instant = u64;

pub use message::{Message, Method, NameAddr, Request, Response, SipMessage, Uri, Via};
