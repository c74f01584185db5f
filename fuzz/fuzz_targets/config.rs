//! TOML text through `Config::parse` (DESIGN §4): no panic, and a configuration it accepts
//! whose keys preflight accepts too is one the daemon can start on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_fuzz::{config_keys, Config, Cron};

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
    // Fixed (fuzz/regressions/config/): `server.listen` must be an address and port for
    // `Config::parse`, and a `digest.schedule` the digest side cannot read is refused
    // with the other keys config cannot judge (preflight::keys) before anything starts.
    assert!(
        config.server.listen.parse::<std::net::SocketAddr>().is_ok(),
        "server.listen {:?} accepted but is not an address and port",
        config.server.listen
    );
    if config_keys(&config).is_empty() {
        assert!(
            Cron::parse(&config.digest.schedule).is_ok(),
            "digest.schedule {:?} accepted but is not a schedule",
            config.digest.schedule
        );
    }
});
