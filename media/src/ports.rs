//! The media port range (`--media-ports 40000-40999`) and a pool that hands out ports from
//! it. No IO: the driver binds the socket; the pool only keeps the books.
//!
//! Ports are handed out even (RFC 3550 11: RTP on an even port, RTCP on the next odd one),
//! so a range of N ports serves N/2 legs. A released port goes to the back of the queue, so
//! the port a call just gave up is the last to be reused: late packets of an old call do
//! not land in a new one.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// A problem with a `--media-ports` value or with the pool.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PortError {
    /// Not of the form `FIRST-LAST`.
    #[error("media ports {0:?}: expected FIRST-LAST, e.g. 40000-40999")]
    Syntax(String),
    /// A bound is not a port number.
    #[error("media ports {0:?}: {1:?} is not a port number (1-65535)")]
    NotAPort(String, String),
    /// The range is reversed, or holds no even/odd pair.
    #[error(
        "media ports {first}-{last}: need FIRST < LAST with at least one even port and the odd one after it"
    )]
    Empty {
        /// First port.
        first: u16,
        /// Last port.
        last: u16,
    },
    /// Every port is in use.
    #[error("no free media port in {0}")]
    Exhausted(PortRange),
    /// Released a port the pool did not hand out.
    #[error("media port {0} was not allocated")]
    NotAllocated(u16),
}

/// An inclusive range of UDP ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    first: u16,
    last: u16,
}

impl PortRange {
    /// A range from `first` to `last` inclusive; it must hold at least one RTP/RTCP pair.
    pub fn new(first: u16, last: u16) -> Result<PortRange, PortError> {
        let even = first.checked_add(first % 2);
        match even {
            Some(even) if first != 0 && even < last => Ok(PortRange { first, last }),
            _ => Err(PortError::Empty { first, last }),
        }
    }

    /// The first port.
    pub fn first(&self) -> u16 {
        self.first
    }

    /// The last port.
    pub fn last(&self) -> u16 {
        self.last
    }

    /// The even ports whose odd neighbour is in the range: the RTP ports handed out.
    pub fn rtp_ports(&self) -> impl Iterator<Item = u16> + use<> {
        let last = self.last;
        (self.first..last).filter(|p| p % 2 == 0)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

impl FromStr for PortRange {
    type Err = PortError;

    fn from_str(s: &str) -> Result<PortRange, PortError> {
        let (a, b) = s
            .trim()
            .split_once('-')
            .ok_or_else(|| PortError::Syntax(s.to_owned()))?;
        let port = |v: &str| -> Result<u16, PortError> {
            match v.trim().parse::<u16>() {
                Ok(p) if p > 0 => Ok(p),
                _ => Err(PortError::NotAPort(s.to_owned(), v.trim().to_owned())),
            }
        };
        PortRange::new(port(a)?, port(b)?)
    }
}

/// Hands out even RTP ports from a range, least recently used first.
#[derive(Debug, Clone)]
pub struct PortPool {
    range: PortRange,
    free: VecDeque<u16>,
    in_use: Vec<bool>,
}

impl PortPool {
    /// A pool with every RTP port of `range` free.
    pub fn new(range: PortRange) -> PortPool {
        let free: VecDeque<u16> = range.rtp_ports().collect();
        let in_use = vec![false; usize::from(range.last - range.first) + 1];
        PortPool {
            range,
            free,
            in_use,
        }
    }

    /// The range this pool serves.
    pub fn range(&self) -> PortRange {
        self.range
    }

    /// Ports free now.
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// Takes the least recently used free port.
    pub fn allocate(&mut self) -> Result<u16, PortError> {
        let port = self
            .free
            .pop_front()
            .ok_or(PortError::Exhausted(self.range))?;
        self.in_use[usize::from(port - self.range.first)] = true;
        Ok(port)
    }

    /// Gives a port back (it is reused after every other free port).
    pub fn release(&mut self, port: u16) -> Result<(), PortError> {
        let slot = port
            .checked_sub(self.range.first)
            .and_then(|i| self.in_use.get_mut(usize::from(i)))
            .filter(|used| **used)
            .ok_or(PortError::NotAllocated(port))?;
        *slot = false;
        self.free.push_back(port);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges() {
        let r: PortRange = "40000-40999".parse().unwrap();
        assert_eq!((r.first(), r.last()), (40000, 40999));
        assert_eq!(r.rtp_ports().count(), 500);
        assert_eq!(r.to_string(), "40000-40999");
        let odd: PortRange = " 40001 - 40004 ".parse().unwrap();
        assert_eq!(odd.rtp_ports().collect::<Vec<_>>(), vec![40002]);
    }

    #[test]
    fn rejects_bad_ranges() {
        let err = |s: &str| s.parse::<PortRange>().unwrap_err();
        assert!(matches!(err("40000"), PortError::Syntax(_)));
        assert!(matches!(err("a-40000"), PortError::NotAPort(..)));
        assert!(matches!(err("0-10"), PortError::NotAPort(..)));
        assert!(matches!(err("40000-70000"), PortError::NotAPort(..)));
        assert!(matches!(err("40999-40000"), PortError::Empty { .. }));
        assert!(matches!(err("40000-40000"), PortError::Empty { .. }));
        assert!(matches!(err("40001-40002"), PortError::Empty { .. }));
        assert!(matches!(err("65535-65535"), PortError::Empty { .. }));
        assert_eq!(
            err("40000").to_string(),
            "media ports \"40000\": expected FIRST-LAST, e.g. 40000-40999"
        );
    }

    #[test]
    fn allocates_releases_and_reuses_last() {
        let mut pool = PortPool::new("40000-40005".parse().unwrap());
        assert_eq!(pool.available(), 3);
        let a = pool.allocate().unwrap();
        let b = pool.allocate().unwrap();
        let c = pool.allocate().unwrap();
        assert_eq!((a, b, c), (40000, 40002, 40004));
        assert!(matches!(pool.allocate(), Err(PortError::Exhausted(_))));
        pool.release(b).unwrap();
        assert_eq!(pool.release(b), Err(PortError::NotAllocated(b)));
        assert_eq!(pool.release(40001), Err(PortError::NotAllocated(40001)));
        assert_eq!(pool.release(1), Err(PortError::NotAllocated(1)));
        assert_eq!(pool.release(50000), Err(PortError::NotAllocated(50000)));
        pool.release(a).unwrap();
        assert_eq!(pool.allocate().unwrap(), b);
        assert_eq!(pool.allocate().unwrap(), a);
    }
}
