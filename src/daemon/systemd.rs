//! Talking to systemd (DESIGN §6b): sd_notify states (READY, RELOADING, STOPPING, STATUS,
//! WATCHDOG) and the watchdog interval it asks for.

use std::time::Duration;

use sd_notify::NotifyState;

pub fn notify(states: &[NotifyState]) {
    // `false`: keep NOTIFY_SOCKET for the publisher thread and later messages.
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::debug!("sd_notify: {e}");
    }
}

/// The watchdog interval systemd asks for, if any. As sd_watchdog_enabled(3) does, an
/// unset `WATCHDOG_PID` means this process (the sd-notify crate insists on it).
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    let for_us = match std::env::var("WATCHDOG_PID") {
        Ok(pid) => pid.parse::<u32>().ok() == Some(std::process::id()),
        Err(_) => true,
    };
    (for_us && usec > 0).then(|| Duration::from_micros(usec))
}
