//! The heartbeat, browser side: a timer asks the engine which plugins to ping and which went
//! silent ([`Engine::heartbeat`](crate::core::engine::Engine::heartbeat)) and carries that out. Never waits on a plugin.

use std::rc::Rc;

use super::host::{now, Host};
use crate::core::engine::{Effect, Heartbeat};
use crate::core::error::ErrorCode;
use crate::core::ratelimit::Clock;

/// `performance.now()`: monotonic milliseconds, for the engine's rate limits and durations.
/// Without `performance` (never in a supporting browser) it reads NaN, which the engine treats
/// as "no time passed" (the safe side: nothing refills).
pub(super) struct PerformanceClock(pub(super) Option<web_sys::Performance>);

impl Clock for PerformanceClock {
    fn now_ms(&self) -> f64 {
        self.0.as_ref().map_or(f64::NAN, web_sys::Performance::now)
    }
}

impl Host {
    /// The heartbeat timer: post the pings the engine asks for, fail the silent plugins.
    pub(super) fn on_heartbeat(self: &Rc<Self>) {
        let mut effects = Vec::new();
        let now = now();
        // Failing a silent plugin (an iframe's: other mounts load the core's second part
        // first) runs code of the first part only, so it is failed on time even while the
        // second cannot load (www/bench/coverage.js records it; tests/e2e/lazy-modules checks
        // that no request is made for it). Needing the second part here would load it
        // synchronously in the middle of the engine's change, which a failed load cuts off.
        let beats = self.engine.borrow_mut().heartbeat(now);
        for beat in beats {
            match beat {
                Heartbeat::Ping { plugin, message } => effects.push(Effect::Post {
                    to: plugin,
                    message,
                }),
                Heartbeat::Unresponsive { plugin, message } => effects.extend(
                    self.engine
                        .borrow_mut()
                        .fail(&plugin, ErrorCode::Timeout, &message, now),
                ),
            }
        }
        self.carry_out(effects);
    }
}
