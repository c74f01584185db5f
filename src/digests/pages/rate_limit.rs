//! Per-client rate limit of the subscribe form (DESIGN §5: 5 in 10 minutes).

use super::*;

// Rate limit

/// A sliding window of request times per client address.
#[derive(Default)]
pub(super) struct RateLimiter {
    pub(super) seen: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// Records a request from `ip`; `false` when it is over the limit (then it is not
    /// recorded, so a client that keeps hammering is let in again once its window ends).
    pub(super) fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let ip = limit_key(ip);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= RATE_SWEEP_AT {
            seen.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < RATE_WINDOW)
            });
        }
        let times = seen.entry(ip).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= RATE_WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= RATE_LIMIT {
            return false;
        }
        times.push_back(now);
        true
    }
}

/// The unit a limit applies to: an IPv4 address, or an IPv6 /64 (one host usually holds
/// a whole /64 and could otherwise pick a fresh address per request).
pub(super) fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::V6(seg.into())
            }
        },
        v4 => v4,
    }
}
