//! Liveness: the host's heartbeat for iframe and worker plugins.
//!
//! Every `heartbeatMs` (default 5 s) the host posts `{v:1, event:"ping", data:{seq}}` on a
//! mounted plugin's port; the client answers `{v:1, event:"pong", data:{seq}}` by itself, with
//! no plugin code involved. A plugin that has not answered for `unresponsiveAfterMs` (default
//! 15 s) — its page's main thread is blocked, its worker spins in a loop, it closed its port —
//! is failed with `TIMEOUT` and torn down (which also terminates a spinning worker: it dies with
//! its runner frame). The host never waits for an answer: pings are posted, pongs are noted
//! when they come, and a timer compares clocks.
//!
//! Time comes in as numbers (milliseconds of the host's clock), so the state machine is tested
//! with a clock double.
//!
//! ```
//! use plugin_warden::core::liveness::{Beat, Liveness, LivenessConfig};
//! let config = LivenessConfig { heartbeat_ms: 100, unresponsive_after_ms: 300 };
//! let mut l = Liveness::new(config, 0.0);
//! assert_eq!(l.tick(50.0), Beat::Idle);
//! assert_eq!(l.tick(100.0), Beat::Ping(1));
//! assert!(l.pong(1, 120.0));
//! assert_eq!(l.tick(200.0), Beat::Ping(2));
//! // No answer any more: at 300 ms of silence (since 120) the plugin is unresponsive.
//! assert_eq!(l.tick(300.0), Beat::Ping(3));
//! assert!(matches!(l.tick(420.0), Beat::Unresponsive { .. }));
//! ```

use thiserror::Error;

use super::error::{Coded, ErrorCode};

/// The heartbeat's timing (host option `limits.heartbeatMs` / `limits.unresponsiveAfterMs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LivenessConfig {
    /// How often a plugin is pinged, in ms.
    pub heartbeat_ms: u32,
    /// How long a plugin may stay silent before it is failed, in ms.
    pub unresponsive_after_ms: u32,
}

/// The default ping interval.
pub const DEFAULT_HEARTBEAT_MS: u32 = 5_000;
/// The default silence after which a plugin is failed.
pub const DEFAULT_UNRESPONSIVE_AFTER_MS: u32 = 15_000;
/// The shortest ping interval accepted (a faster heartbeat would be a load of its own).
pub const MIN_HEARTBEAT_MS: u32 = 50;

impl Default for LivenessConfig {
    fn default() -> Self {
        LivenessConfig {
            heartbeat_ms: DEFAULT_HEARTBEAT_MS,
            unresponsive_after_ms: DEFAULT_UNRESPONSIVE_AFTER_MS,
        }
    }
}

/// A heartbeat setting that cannot work.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LivenessError {
    /// The interval is below [`MIN_HEARTBEAT_MS`].
    #[error("limits.heartbeatMs: expected at least {MIN_HEARTBEAT_MS} ms, found {0}")]
    TooFast(u32),
    /// A plugin would be failed before it could answer two pings.
    #[error("limits.unresponsiveAfterMs: expected at least twice limits.heartbeatMs ({heartbeat_ms} ms), found {unresponsive_after_ms}")]
    TooShort {
        /// The interval.
        heartbeat_ms: u32,
        /// The refused silence.
        unresponsive_after_ms: u32,
    },
}

impl Coded for LivenessError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidArgument
    }
}

impl LivenessConfig {
    /// The configuration from the two optional host limits, defaults filled in.
    ///
    /// # Errors
    /// [`LivenessError`] (`INVALID_ARGUMENT`) for an interval under 50 ms, or a silence under
    /// twice the interval.
    ///
    /// ```
    /// use plugin_warden::core::liveness::LivenessConfig;
    /// assert_eq!(LivenessConfig::new(None, None).unwrap(), LivenessConfig::default());
    /// assert!(LivenessConfig::new(Some(10), None).is_err());
    /// assert!(LivenessConfig::new(Some(1000), Some(1500)).is_err());
    /// assert!(LivenessConfig::new(Some(200), Some(1000)).is_ok());
    /// ```
    pub fn new(
        heartbeat_ms: Option<u32>,
        unresponsive_after_ms: Option<u32>,
    ) -> Result<Self, LivenessError> {
        let heartbeat_ms = heartbeat_ms.unwrap_or(DEFAULT_HEARTBEAT_MS);
        let unresponsive_after_ms = unresponsive_after_ms
            .unwrap_or_else(|| DEFAULT_UNRESPONSIVE_AFTER_MS.max(heartbeat_ms.saturating_mul(3)));
        if heartbeat_ms < MIN_HEARTBEAT_MS {
            return Err(LivenessError::TooFast(heartbeat_ms));
        }
        if unresponsive_after_ms < heartbeat_ms.saturating_mul(2) {
            return Err(LivenessError::TooShort {
                heartbeat_ms,
                unresponsive_after_ms,
            });
        }
        Ok(LivenessConfig {
            heartbeat_ms,
            unresponsive_after_ms,
        })
    }

    /// How often the host's timer should look at its plugins: often enough that a silent
    /// plugin is failed within a quarter of `unresponsive_after_ms` of the limit.
    pub fn tick_ms(&self) -> u32 {
        (self.heartbeat_ms.min(self.unresponsive_after_ms / 4)).max(MIN_HEARTBEAT_MS / 2)
    }
}

/// What the host's timer does for one plugin now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Beat {
    /// Nothing.
    Idle,
    /// Post a ping with this sequence number.
    Ping(u64),
    /// The plugin has been silent too long: fail it with `TIMEOUT`.
    Unresponsive {
        /// Milliseconds since its last answer (or since the mount).
        silent_ms: f64,
    },
}

/// One mounted plugin's heartbeat state.
#[derive(Clone, Debug, PartialEq)]
pub struct Liveness {
    config: LivenessConfig,
    /// The last answer (or the mount).
    last_answer_ms: f64,
    last_ping_ms: f64,
    /// The last ping sent, and the last one answered.
    sent: u64,
    answered: u64,
}

impl Liveness {
    /// Start watching a plugin that just connected at `now_ms`.
    pub fn new(config: LivenessConfig, now_ms: f64) -> Self {
        Liveness {
            config,
            last_answer_ms: now_ms,
            last_ping_ms: now_ms,
            sent: 0,
            answered: 0,
        }
    }

    /// What to do at `now_ms`.
    pub fn tick(&mut self, now_ms: f64) -> Beat {
        let silent_ms = now_ms - self.last_answer_ms;
        if silent_ms >= f64::from(self.config.unresponsive_after_ms) {
            return Beat::Unresponsive { silent_ms };
        }
        if now_ms - self.last_ping_ms >= f64::from(self.config.heartbeat_ms) {
            self.sent += 1;
            self.last_ping_ms = now_ms;
            return Beat::Ping(self.sent);
        }
        Beat::Idle
    }

    /// A pong with `seq` came at `now_ms`. `true` when it answers a ping sent and not yet
    /// answered (late answers count: the plugin is alive); anything else is not a pong of
    /// ours and is `false` (the caller treats it as any other message, rate limit included).
    pub fn pong(&mut self, seq: u64, now_ms: f64) -> bool {
        if seq <= self.answered || seq > self.sent {
            return false;
        }
        self.answered = seq;
        self.last_answer_ms = now_ms;
        true
    }

    /// The configuration.
    pub fn config(&self) -> LivenessConfig {
        self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clock double: time moves only when the test says so.
    struct Clock(f64);
    impl Clock {
        fn advance(&mut self, ms: f64) -> f64 {
            self.0 += ms;
            self.0
        }
    }

    fn config() -> LivenessConfig {
        LivenessConfig::new(Some(100), Some(400)).expect("valid")
    }

    #[test]
    fn a_plugin_that_answers_is_never_failed() {
        let mut clock = Clock(1_000.0);
        let mut l = Liveness::new(config(), clock.0);
        let mut pings = 0;
        for _ in 0..1_000 {
            let now = clock.advance(10.0);
            match l.tick(now) {
                Beat::Ping(seq) => {
                    pings += 1;
                    assert!(l.pong(seq, clock.advance(3.0)));
                }
                Beat::Idle => {}
                Beat::Unresponsive { .. } => panic!("an answering plugin was failed at {now}"),
            }
        }
        assert!(pings >= 90, "{pings} pings in 13 s at 100 ms");
    }

    #[test]
    fn a_silent_plugin_is_failed_once_the_window_passes_and_not_before() {
        let mut clock = Clock(0.0);
        let mut l = Liveness::new(config(), 0.0);
        let mut failed_at = None;
        while failed_at.is_none() && clock.0 < 2_000.0 {
            let now = clock.advance(25.0);
            if let Beat::Unresponsive { silent_ms } = l.tick(now) {
                assert!(silent_ms >= 400.0);
                failed_at = Some(now);
            }
        }
        assert_eq!(failed_at, Some(400.0));
    }

    #[test]
    fn a_plugin_that_stops_answering_is_failed_relative_to_its_last_answer() {
        let mut l = Liveness::new(config(), 0.0);
        assert_eq!(l.tick(100.0), Beat::Ping(1));
        assert!(l.pong(1, 150.0));
        assert_eq!(l.tick(200.0), Beat::Ping(2));
        assert_eq!(l.tick(549.0), Beat::Ping(3));
        assert_eq!(l.tick(550.0), Beat::Unresponsive { silent_ms: 400.0 });
    }

    #[test]
    fn only_answers_to_pings_sent_count() {
        let mut l = Liveness::new(config(), 0.0);
        assert!(!l.pong(1, 10.0), "nothing was sent yet");
        assert_eq!(l.tick(100.0), Beat::Ping(1));
        assert!(!l.pong(2, 110.0), "a pong ahead of the pings");
        assert!(!l.pong(0, 110.0));
        assert!(l.pong(1, 120.0));
        assert!(!l.pong(1, 130.0), "the same answer twice");
        // A late answer to an older ping still proves life.
        assert_eq!(l.tick(220.0), Beat::Ping(2));
        assert_eq!(l.tick(320.0), Beat::Ping(3));
        assert!(l.pong(2, 330.0));
        assert!(l.pong(3, 331.0));
        assert!(!l.pong(2, 332.0));
    }

    #[test]
    fn spoofed_pongs_cannot_keep_a_plugin_alive_without_pings() {
        // A flood of pongs between pings is refused (and so rate-limited by the caller).
        let mut l = Liveness::new(config(), 0.0);
        assert_eq!(l.tick(100.0), Beat::Ping(1));
        assert!(l.pong(1, 101.0));
        for seq in 0..100 {
            assert!(!l.pong(seq, 102.0));
        }
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(
            LivenessConfig::new(Some(49), None),
            Err(LivenessError::TooFast(49))
        );
        assert!(LivenessConfig::new(Some(100), Some(199)).is_err());
        // A slow heartbeat without an explicit window gets one that fits three pings.
        let c = LivenessConfig::new(Some(10_000), None).expect("valid");
        assert_eq!(c.unresponsive_after_ms, 30_000);
        assert_eq!(LivenessConfig::default().tick_ms(), 3_750);
        assert_eq!(config().tick_ms(), 100);
    }
}
