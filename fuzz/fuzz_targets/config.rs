//! TOML text through `Config::parse` (DESIGN §4): no panic, and a configuration it accepts
//! is one the daemon can start on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_fuzz::{known_findings, Config, Cron};

fuzz_target!(|text: &str| {
    let Ok(config) = Config::parse(text) else {
        return;
    };
    assert!(config.feeds.items >= 1);
    assert!(!config.feeds.formats.is_empty());
    assert!(config.feeds.formats.windows(2).all(|w| w[0] < w[1]));
    assert!(!config.site.base_url.ends_with('/'));
    let _ = config.tz();
    // Parsing is a function of the text alone.
    assert!(Config::parse(text).is_ok());
    // Known (a cron or listen address that only fails later, at `subscriber add` or at
    // bind): asserted only with FUZZ_KNOWN set.
    if known_findings() {
        assert!(
            Cron::parse(&config.digest.schedule).is_ok(),
            "digest.schedule {:?} accepted but is not a schedule",
            config.digest.schedule
        );
        // `TcpListener::bind` resolves names, so only the port is certain to be checkable.
        let port = config.server.listen.rsplit_once(':').map(|(_, port)| port);
        assert!(
            port.is_some_and(|p| p.parse::<u16>().is_ok()),
            "server.listen {:?} accepted but has no port",
            config.server.listen
        );
    }
});
