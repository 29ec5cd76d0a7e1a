//! Per-plugin rate limiting (DESIGN.md §7): a token bucket, a flood detector that suspends a
//! plugin which keeps calling while refused, and a bound on calls in flight.
//!
//! Time comes from a [`Clock`] in milliseconds as `f64` (what `performance.now()` returns), so
//! everything here is tested with a [`ManualClock`]. The arithmetic is defensive: a clock that
//! jumps far ahead refills at most `burst`, time is clamped to be monotonic (a reading before
//! the latest one seen counts as the latest, so going back and forth mints nothing), and a
//! non-finite time is treated as "no time passed".

use std::cell::Cell;
use std::collections::VecDeque;

use serde::Deserialize;
use thiserror::Error;

use super::error::{Coded, ErrorCode};

/// A source of time in milliseconds.
///
/// # Security
/// Use a monotonic clock (`performance.now()` in the browser, not `Date.now()`). A clock that
/// goes backwards never mints tokens here; [`TokenBucket::try_take`] says exactly what happens.
///
/// ```
/// use plugin_warden::core::ratelimit::{Clock, ManualClock};
/// let c = ManualClock::new(5.0);
/// assert_eq!(c.now_ms(), 5.0);
/// ```
pub trait Clock {
    /// Milliseconds since an arbitrary, fixed origin.
    fn now_ms(&self) -> f64;
}

/// A clock moved by hand, for tests.
///
/// ```
/// use plugin_warden::core::ratelimit::{Clock, ManualClock};
/// let c = ManualClock::new(0.0);
/// c.advance(1500.0);
/// assert_eq!(c.now_ms(), 1500.0);
/// c.set(10.0);
/// assert_eq!(c.now_ms(), 10.0);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    now: Cell<f64>,
}

impl ManualClock {
    /// A clock showing `start_ms`.
    pub fn new(start_ms: f64) -> Self {
        ManualClock {
            now: Cell::new(start_ms),
        }
    }

    /// Show `ms` from now on (any value, including backwards jumps and NaN, for tests).
    pub fn set(&self, ms: f64) {
        self.now.set(ms);
    }

    /// Move forward by `ms` (or backwards, when negative).
    pub fn advance(&self, ms: f64) {
        self.now.set(self.now.get() + ms);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> f64 {
        self.now.get()
    }
}

/// Turns a configured number into a finite, non-negative one: NaN and negatives become 0
/// (refuse everything: the safe side), +∞ becomes `f64::MAX`.
fn sane(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        0.0
    } else if x.is_infinite() {
        f64::MAX
    } else {
        x
    }
}

/// A token bucket: holds at most `burst` tokens, refills at `rate_per_sec`, starts full.
///
/// ```
/// use plugin_warden::core::ratelimit::TokenBucket;
/// let mut b = TokenBucket::new(1.0, 2.0);
/// assert!(b.try_take(0.0) && b.try_take(0.0));
/// assert!(!b.try_take(0.0));
/// assert!(b.try_take(1000.0)); // one token per second
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TokenBucket {
    rate_per_sec: f64,
    burst: f64,
    tokens: f64,
    last_ms: Option<f64>,
}

impl TokenBucket {
    /// A full bucket. NaN or negative settings become 0 (nothing is ever allowed), +∞ becomes
    /// `f64::MAX`, so the bucket's arithmetic never produces NaN.
    pub fn new(rate_per_sec: f64, burst: f64) -> Self {
        let burst = sane(burst);
        TokenBucket {
            rate_per_sec: sane(rate_per_sec),
            burst,
            tokens: burst,
            last_ms: None,
        }
    }

    /// The refill rate, in tokens per second.
    pub fn rate_per_sec(&self) -> f64 {
        self.rate_per_sec
    }

    /// The capacity.
    pub fn burst(&self) -> f64 {
        self.burst
    }

    /// Tokens available now (fractional between refills).
    pub fn tokens(&self) -> f64 {
        self.tokens
    }

    /// Refill for the time since the last call, then take one token if there is one.
    ///
    /// # Security
    /// Only forward time refills, and by at most `burst`. Time is clamped to be monotonic: a
    /// `now_ms` before the latest time seen mints nothing and leaves the anchor where it is,
    /// so a clock that goes back and forth (a wall clock being corrected, or set by hand) can
    /// never refill the same interval twice; a non-finite `now_ms` refills nothing either.
    ///
    /// ```
    /// use plugin_warden::core::ratelimit::TokenBucket;
    /// let mut b = TokenBucket::new(50.0, 1.0);
    /// assert!(b.try_take(1000.0));
    /// assert!(!b.try_take(0.0));       // backwards: no new token, the anchor stays at 1000
    /// assert!(!b.try_take(f64::NAN));  // no time passed
    /// assert!(!b.try_take(1010.0));    // half a token
    /// assert!(b.try_take(1020.0));     // 20 ms at 50/s since the anchor: one token
    /// ```
    pub fn try_take(&mut self, now_ms: f64) -> bool {
        let (tokens, last_ms) = self.at(now_ms);
        (self.tokens, self.last_ms) = (tokens, last_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether [`TokenBucket::try_take`] at `now_ms` would answer true; changes nothing.
    pub fn would_take(&self, now_ms: f64) -> bool {
        self.at(now_ms).0 >= 1.0
    }

    /// The tokens and the refill's anchor at `now_ms`, before a token is taken.
    fn at(&self, now_ms: f64) -> (f64, Option<f64>) {
        if !now_ms.is_finite() {
            return (self.tokens, self.last_ms);
        }
        match self.last_ms {
            Some(last) if now_ms > last => {
                // Both finite, so the difference is positive and at most +∞; the product is
                // at most +∞ (never NaN: rate and elapsed are finite and non-negative, and
                // elapsed > 0), and `min` brings it back to `burst`.
                let refill = (now_ms - last) / 1000.0 * self.rate_per_sec;
                ((self.tokens + refill).min(self.burst), Some(now_ms))
            }
            Some(_) => (self.tokens, self.last_ms),
            None => (self.tokens, Some(now_ms)),
        }
    }
}

/// Rate-limit settings. Deserializes from the host's `limits` option in camelCase
/// (`callsPerSecond`, `burst`, `maxInFlight`, `suspendAfter`, `suspendWindowMs`, `renderShare`,
/// `renderBurstMs`, `renderCleanMs`); missing fields
/// keep their defaults and unknown ones are ignored (the same object carries other limits).
///
/// ```
/// use plugin_warden::core::ratelimit::RateLimitConfig;
/// let c = RateLimitConfig::default();
/// assert_eq!((c.calls_per_second, c.burst, c.max_in_flight), (50.0, 100.0, 64));
/// assert_eq!((c.suspend_after, c.suspend_window_ms), (200, 2000.0));
/// let o: RateLimitConfig =
///     serde_json::from_str(r#"{"callsPerSecond": 5, "maxMessageBytes": 9}"#).unwrap();
/// assert_eq!((o.calls_per_second, o.burst), (5.0, 100.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RateLimitConfig {
    /// Sustained calls per second (DESIGN.md §7: 50).
    pub calls_per_second: f64,
    /// Calls allowed at once after a quiet period (DESIGN.md §7: 100).
    pub burst: f64,
    /// Calls in flight at once per plugin (DESIGN.md §7: 64).
    pub max_in_flight: u32,
    /// Refusals within `suspend_window_ms` that suspend the plugin; 0 disables suspension.
    /// Default 200: a plugin refused 200 times in 2 s is sending at least 100 calls/s beyond
    /// its allowance — twice the sustained rate, past anything a well-behaved client with
    /// retries does — which is a flood, not a spike.
    pub suspend_after: u32,
    /// The sliding window for `suspend_after`, in milliseconds (default 2000).
    pub suspend_window_ms: f64,
    /// The share of the host page's time a plugin's remote-UI renders may take (default 0.25),
    /// after a first burst of `render_burst_ms` (default 250): see [`BusyBudget`]. A render
    /// runs on the page's main thread, and HTML of one size can cost far more than the call
    /// rate assumes: html5ever parses deep nesting in quadratic time (9 990 nested `<div>`,
    /// 50 KB: ~310 ms in wasm, and a remote UI's HTML is cleaned more than once).
    pub render_share: f64,
    /// See `render_share`, in milliseconds of work.
    pub render_burst_ms: f64,
    /// The longest one clean of a render's HTML may take, in milliseconds (default 100):
    /// past it the clean stops and the render is refused `TIMEOUT`
    /// (`Sanitizer::with_time_limit`). The budget above bounds how often the page pays for
    /// renders; this bounds how long it is held at once.
    pub render_clean_ms: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            calls_per_second: 50.0,
            burst: 100.0,
            max_in_flight: 64,
            suspend_after: 200,
            suspend_window_ms: 2000.0,
            render_share: 0.25,
            render_burst_ms: 250.0,
            render_clean_ms: 100,
        }
    }
}

/// What to do with one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RateDecision {
    /// Go ahead.
    Allow,
    /// Refuse this call with `RATE_LIMITED`; the plugin may retry later.
    Limited,
    /// Refuse this call and suspend the plugin (status `failed`, code `RATE_LIMITED`). Returned
    /// once per limiter; later calls get [`RateDecision::Limited`].
    Suspend,
}

/// Why a call was refused. Every variant has code `RATE_LIMITED`.
///
/// ```
/// use plugin_warden::core::error::{Coded, ErrorCode};
/// use plugin_warden::core::ratelimit::RateLimitError;
/// let e = RateLimitError::InFlight { max: 64 };
/// assert_eq!(e.code(), ErrorCode::RateLimited);
/// assert_eq!(e.to_string(), "expected at most 64 calls in flight, found one more");
/// ```
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum RateLimitError {
    /// The token bucket is empty.
    #[error("expected at most {} calls per second (burst {}), found more", num(*.calls_per_second), num(*.burst))]
    Limited {
        /// The sustained rate.
        calls_per_second: f64,
        /// The burst.
        burst: f64,
    },
    /// Too many calls are waiting for replies.
    #[error("expected at most {max} calls in flight, found one more")]
    InFlight {
        /// The limit.
        max: u32,
    },
    /// The plugin kept calling while refused and was suspended.
    #[error("expected fewer than {refusals} refused calls within {} ms, found that many: plugin suspended", num(*.window_ms))]
    Suspended {
        /// The refusal threshold.
        refusals: u32,
        /// The window.
        window_ms: f64,
    },
}

/// `x` as `{}` shows it (`50`, `0.5`), but through serde_json's float printer, which the
/// module links anyway: `f64`'s own `Display` brings core's float formatting (Grisu and
/// Dragon4, ~20 KiB of optimized wasm), and these messages were its only use in the core.
/// Magnitudes of 1e16 and more, or under 1e-5, come out in exponent form (`1e21`).
fn num(x: f64) -> String {
    match serde_json::Number::from_f64(x) {
        Some(n) => {
            let s = n.to_string();
            match s.strip_suffix(".0") {
                Some(whole) => whole.to_owned(),
                None => s,
            }
        }
        None if x.is_nan() => "NaN".to_owned(),
        None if x > 0.0 => "inf".to_owned(),
        None => "-inf".to_owned(),
    }
}

impl Coded for RateLimitError {
    fn code(&self) -> ErrorCode {
        ErrorCode::RateLimited
    }
}

/// One plugin's limiter: the token bucket plus the flood detector.
///
/// ```
/// use plugin_warden::core::ratelimit::{RateDecision, RateLimitConfig, RateLimiter};
/// let mut l = RateLimiter::new(&RateLimitConfig { burst: 1.0, suspend_after: 2, ..Default::default() });
/// assert_eq!(l.check(0.0), RateDecision::Allow);
/// assert_eq!(l.check(0.0), RateDecision::Limited);
/// assert_eq!(l.check(0.0), RateDecision::Suspend);
/// assert_eq!(l.check(0.0), RateDecision::Limited);
/// assert!(l.is_suspended());
/// ```
#[derive(Clone, Debug)]
pub struct RateLimiter {
    bucket: TokenBucket,
    suspend_after: u32,
    window_ms: f64,
    /// Times of the most recent refusals (at most `suspend_after`), oldest first.
    refusals: VecDeque<f64>,
    /// The latest time the detector has seen: its clock never runs backwards.
    high_water_ms: f64,
    suspended: bool,
}

impl RateLimiter {
    /// A limiter for one plugin. A NaN or negative window becomes 0 (only simultaneous refusals
    /// count), +∞ becomes `f64::MAX`.
    pub fn new(config: &RateLimitConfig) -> Self {
        RateLimiter {
            bucket: TokenBucket::new(config.calls_per_second, config.burst),
            suspend_after: config.suspend_after,
            window_ms: sane(config.suspend_window_ms),
            refusals: VecDeque::new(),
            high_water_ms: f64::NEG_INFINITY,
            suspended: false,
        }
    }

    /// Whether [`RateLimiter::check`] at `now_ms` would answer [`RateDecision::Allow`];
    /// changes nothing.
    pub fn would_allow(&self, now_ms: f64) -> bool {
        self.bucket.would_take(now_ms)
    }

    /// Decide on one call made at `now_ms`.
    ///
    /// # Security
    /// [`RateDecision::Suspend`] comes when the `suspend_after`-th refusal falls within
    /// `suspend_window_ms` of the first of them, measured on a clock that never runs backwards
    /// (a backwards or non-finite time counts as the latest time seen). Memory is bounded by
    /// `suspend_after` timestamps.
    pub fn check(&mut self, now_ms: f64) -> RateDecision {
        if self.bucket.try_take(now_ms) {
            return RateDecision::Allow;
        }
        if self.suspended || self.suspend_after == 0 {
            return RateDecision::Limited;
        }
        if now_ms.is_finite() && now_ms > self.high_water_ms {
            self.high_water_ms = now_ms;
        }
        let now = if self.high_water_ms.is_finite() {
            self.high_water_ms
        } else {
            0.0
        };
        // `now - window` with both finite is finite or -∞; either compares correctly.
        let horizon = now - self.window_ms;
        while self.refusals.front().is_some_and(|&t| t < horizon) {
            self.refusals.pop_front();
        }
        self.refusals.push_back(now);
        if self.refusals.len() >= self.suspend_after as usize {
            self.suspended = true;
            self.refusals.clear();
            return RateDecision::Suspend;
        }
        RateDecision::Limited
    }

    /// Whether [`RateDecision::Suspend`] was returned.
    pub fn is_suspended(&self) -> bool {
        self.suspended
    }

    /// The error to send for a refused call (`None` for [`RateDecision::Allow`]).
    ///
    /// ```
    /// use plugin_warden::core::ratelimit::{RateDecision, RateLimitConfig, RateLimiter};
    /// let l = RateLimiter::new(&RateLimitConfig::default());
    /// assert!(l.error(RateDecision::Allow).is_none());
    /// assert!(l.error(RateDecision::Suspend).is_some());
    /// ```
    pub fn error(&self, decision: RateDecision) -> Option<RateLimitError> {
        match decision {
            RateDecision::Allow => None,
            RateDecision::Limited => Some(RateLimitError::Limited {
                calls_per_second: self.bucket.rate_per_sec(),
                burst: self.bucket.burst(),
            }),
            RateDecision::Suspend => Some(RateLimitError::Suspended {
                refusals: self.suspend_after,
                window_ms: self.window_ms,
            }),
        }
    }
}

/// Counts calls waiting for a reply.
///
/// ```
/// use plugin_warden::core::ratelimit::InFlight;
/// let mut f = InFlight::new(1);
/// assert!(f.try_begin());
/// assert!(!f.try_begin());
/// f.end();
/// assert!(f.try_begin());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    max: u32,
    current: u32,
}

impl InFlight {
    /// At most `max` calls at once (DESIGN.md §7: 64).
    pub fn new(max: u32) -> Self {
        InFlight { max, current: 0 }
    }

    /// Start a call; `false` when `max` are already in flight (refuse with
    /// [`RateLimitError::InFlight`]).
    pub fn try_begin(&mut self) -> bool {
        if self.current < self.max {
            self.current += 1;
            true
        } else {
            false
        }
    }

    /// Whether [`InFlight::try_begin`] would start a call now.
    pub fn has_room(&self) -> bool {
        self.current < self.max
    }

    /// A call finished. Extra calls (a bug in the caller) never underflow.
    pub fn end(&mut self) {
        self.current = self.current.saturating_sub(1);
    }

    /// Calls in flight now.
    pub fn current(&self) -> u32 {
        self.current
    }

    /// The limit.
    pub fn max(&self) -> u32 {
        self.max
    }
}

impl Default for InFlight {
    fn default() -> Self {
        InFlight::new(RateLimitConfig::default().max_in_flight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> RateLimiter {
        RateLimiter::new(&RateLimitConfig::default())
    }

    #[test]
    fn burst_of_exactly_100_then_limited() {
        let clock = ManualClock::new(1000.0);
        let mut l = limiter();
        for i in 0..100 {
            assert_eq!(l.check(clock.now_ms()), RateDecision::Allow, "call {i}");
        }
        assert_eq!(l.check(clock.now_ms()), RateDecision::Limited);
    }

    #[test]
    fn refills_at_50_per_second() {
        let clock = ManualClock::new(0.0);
        let mut b = TokenBucket::new(50.0, 100.0);
        for _ in 0..100 {
            assert!(b.try_take(clock.now_ms()));
        }
        assert!(!b.try_take(clock.now_ms()));
        clock.advance(19.0); // 0.95 token
        assert!(!b.try_take(clock.now_ms()));
        clock.advance(1.0); // 1.0 token
        assert!(b.try_take(clock.now_ms()));
        assert!(!b.try_take(clock.now_ms()));
        clock.advance(1000.0); // 50 tokens
        let n = (0..200).filter(|_| b.try_take(clock.now_ms())).count();
        assert_eq!(n, 50);
    }

    #[test]
    fn refill_never_exceeds_burst() {
        let mut b = TokenBucket::new(50.0, 100.0);
        assert!(b.try_take(0.0));
        assert!(b.try_take(3_600_000.0));
        assert_eq!(b.tokens(), 99.0);
    }

    #[test]
    fn sustained_rate_is_allowed_forever() {
        let clock = ManualClock::new(0.0);
        let mut l = limiter();
        for _ in 0..10_000 {
            clock.advance(20.0);
            assert_eq!(l.check(clock.now_ms()), RateDecision::Allow);
        }
        assert!(!l.is_suspended());
    }

    #[test]
    fn suspends_on_the_200th_refusal_within_2s_and_only_once() {
        let clock = ManualClock::new(0.0);
        let mut l = limiter();
        for _ in 0..100 {
            assert_eq!(l.check(clock.now_ms()), RateDecision::Allow);
        }
        for i in 0..199 {
            assert_eq!(
                l.check(clock.now_ms()),
                RateDecision::Limited,
                "refusal {i}"
            );
        }
        assert_eq!(l.check(clock.now_ms()), RateDecision::Suspend);
        assert!(l.is_suspended());
        for _ in 0..1000 {
            assert_ne!(l.check(clock.now_ms()), RateDecision::Suspend);
        }
    }

    #[test]
    fn refusals_spread_beyond_the_window_do_not_suspend() {
        let clock = ManualClock::new(0.0);
        let mut l = RateLimiter::new(&RateLimitConfig {
            calls_per_second: 0.0,
            burst: 0.0,
            ..Default::default()
        });
        // 199 refusals per window, then the window slides past them.
        for _ in 0..10 {
            for _ in 0..199 {
                assert_eq!(l.check(clock.now_ms()), RateDecision::Limited);
            }
            clock.advance(2000.1);
        }
        assert!(!l.is_suspended());
        // ... but 200 within one window do.
        let decisions: Vec<_> = (0..200).map(|_| l.check(clock.now_ms())).collect();
        assert_eq!(decisions.last(), Some(&RateDecision::Suspend));
    }

    #[test]
    fn flood_at_double_rate_is_eventually_suspended() {
        let clock = ManualClock::new(0.0);
        let mut l = limiter();
        let mut suspended_at = None;
        for i in 0..10_000 {
            clock.advance(2.0); // 500 calls/s
            if l.check(clock.now_ms()) == RateDecision::Suspend {
                suspended_at = Some(i);
                break;
            }
        }
        assert!(suspended_at.is_some());
    }

    #[test]
    fn suspension_disabled_with_zero() {
        let mut l = RateLimiter::new(&RateLimitConfig {
            burst: 0.0,
            suspend_after: 0,
            ..Default::default()
        });
        for _ in 0..10_000 {
            assert_eq!(l.check(0.0), RateDecision::Limited);
        }
    }

    #[test]
    fn backwards_clock_mints_nothing() {
        let clock = ManualClock::new(10_000.0);
        let mut b = TokenBucket::new(50.0, 100.0);
        for _ in 0..100 {
            assert!(b.try_take(clock.now_ms()));
        }
        for back in [-1.0, -1000.0, -1e9, -1e300] {
            clock.advance(back);
            assert!(!b.try_take(clock.now_ms()), "jump {back}");
        }
        // After a backwards jump, nothing mints until the clock passes the latest time seen.
        let mut b = TokenBucket::new(50.0, 1.0);
        assert!(b.try_take(0.0));
        assert!(!b.try_take(-5000.0));
        assert!(!b.try_take(-4980.0)); // 20 ms after the jump, still before 0
        assert!(!b.try_take(10.0)); // 10 ms past the anchor = 0.5 token
        assert!(b.try_take(20.0)); // 20 ms past the anchor = 1 token
    }

    #[test]
    fn a_clock_going_back_and_forth_refills_each_interval_once() {
        // A wall clock swinging between 0 and 1000 (set by hand, or corrected): with re-anchoring
        // each forward swing would mint a full second of tokens.
        let mut b = TokenBucket::new(1.0, 1.0);
        assert!(b.try_take(1000.0));
        for _ in 0..10 {
            assert!(!b.try_take(0.0));
            assert!(!b.try_take(1000.0), "the same second refilled twice");
        }
        assert!(b.try_take(2000.0));
    }

    #[test]
    fn nan_and_infinite_times_are_no_time() {
        let mut b = TokenBucket::new(50.0, 1.0);
        assert!(b.try_take(0.0));
        for t in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(!b.try_take(t));
            assert!(b.tokens().is_finite());
        }
        assert!(b.try_take(20.0));
    }

    #[test]
    fn huge_jumps_do_not_overflow() {
        let mut b = TokenBucket::new(f64::MAX, f64::MAX);
        assert!(b.try_take(-f64::MAX));
        assert!(b.try_take(f64::MAX));
        assert_eq!(b.tokens(), f64::MAX);
        let mut l = limiter();
        for t in [f64::MAX, -f64::MAX, f64::NAN, 0.0, f64::MAX, f64::INFINITY] {
            let _ = l.check(t);
            assert!(l.bucket.tokens().is_finite());
        }
    }

    #[test]
    fn insane_config_refuses_instead_of_misbehaving() {
        for (rate, burst) in [(f64::NAN, f64::NAN), (-1.0, -1.0), (50.0, f64::NAN)] {
            let mut b = TokenBucket::new(rate, burst);
            assert!(!b.try_take(0.0));
            assert!(!b.try_take(1e9));
        }
        let mut b = TokenBucket::new(f64::INFINITY, f64::INFINITY);
        assert!(b.try_take(0.0));
        assert!(b.try_take(0.0));
    }

    #[test]
    fn detector_ignores_backwards_time() {
        let mut l = RateLimiter::new(&RateLimitConfig {
            burst: 0.0,
            suspend_after: 3,
            ..Default::default()
        });
        assert_eq!(l.check(10_000.0), RateDecision::Limited);
        assert_eq!(l.check(f64::NAN), RateDecision::Limited);
        // Going back 1 h must not push the first refusal out of the window early or late:
        // it counts as "now", and three refusals at "now" suspend.
        assert_eq!(l.check(-3_600_000.0), RateDecision::Suspend);
    }

    #[test]
    fn in_flight_bound() {
        let mut f = InFlight::default();
        assert_eq!(f.max(), 64);
        for _ in 0..64 {
            assert!(f.try_begin());
        }
        assert!(!f.try_begin());
        assert_eq!(f.current(), 64);
        f.end();
        assert!(f.try_begin());
        for _ in 0..100 {
            f.end();
        }
        assert_eq!(f.current(), 0);
    }

    #[test]
    fn errors_are_rate_limited() {
        let l = limiter();
        for d in [RateDecision::Limited, RateDecision::Suspend] {
            let e = l.error(d);
            assert_eq!(e.map(|e| e.code()), Some(ErrorCode::RateLimited));
        }
        assert_eq!(
            l.error(RateDecision::Limited).map(|e| e.to_string()),
            Some("expected at most 50 calls per second (burst 100), found more".to_owned())
        );
    }

    #[test]
    fn limits_show_as_display_shows_them() {
        // `num` stands in for `f64`'s `Display` in these messages.
        for x in [
            0.0, -0.0, 0.5, 1.25, 50.0, 100.0, 1e3, 123456.75, 1e15, 0.001,
        ] {
            assert_eq!(num(x), x.to_string(), "{x:?}");
        }
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(num(f64::INFINITY), "inf");
        assert_eq!(num(f64::NEG_INFINITY), "-inf");
        let e = RateLimitError::Suspended {
            refusals: 20,
            window_ms: 2500.5,
        };
        assert_eq!(
            e.to_string(),
            "expected fewer than 20 refused calls within 2500.5 ms, found that many: plugin suspended"
        );
    }

    /// Work that is always slow, started whenever the budget admits it: after the first
    /// burst it takes about `share` of the time, however fast the plugin asks.
    #[test]
    fn busy_budget_holds_slow_work_to_its_share() {
        for (share, burst, work) in [(0.25, 250.0, 310.0), (0.25, 250.0, 5.0), (0.5, 100.0, 40.0)] {
            let mut b = BusyBudget::new(share, burst);
            let (mut now, mut busy, mut refused) = (0.0, 0.0, 0u32);
            while now < 60_000.0 {
                if b.admits(now) {
                    b.spent(now, now + work);
                    now += work;
                    busy += work;
                } else {
                    refused += 1;
                    now += 1.0; // asks again at once
                }
            }
            let bound = share * now + burst + work;
            assert!(
                busy <= bound,
                "{share} {burst} {work}: busy {busy} of {now}, bound {bound}"
            );
            assert!(
                busy >= share * now - work,
                "{share} {burst} {work}: busy {busy} of {now}"
            );
            assert!(refused > 0);
        }
    }

    #[test]
    fn busy_budget_admits_work_within_its_share_and_mints_nothing_from_odd_clocks() {
        let mut b = BusyBudget::new(0.25, 250.0);
        // 20 ms of work every 100 ms (a fifth of the time): never refused.
        for i in 0..1000 {
            let t = f64::from(i) * 100.0;
            assert!(b.admits(t), "refused at {t}");
            b.spent(t, t + 20.0);
        }
        let mut b = BusyBudget::new(0.25, 250.0);
        assert!(b.admits(1000.0));
        b.spent(1000.0, 1400.0);
        // A clock that goes back, or reads NaN, drains nothing.
        assert!(!b.admits(0.0));
        assert!(!b.admits(f64::NAN));
        assert_eq!(b.level_ms(), 400.0);
        assert!(!b.admits(1400.0 + 599.0));
        assert!(b.admits(1400.0 + 600.0));
        // Work with no duration, or a negative or unreadable one, costs nothing.
        b.spent(5.0, 1.0);
        b.spent(f64::NAN, 2000.0);
        assert_eq!(b.level_ms(), 250.0);
    }
}

/// How much of the host page's time one plugin's host-side work may take, where a single call
/// can cost far more than the rate limit assumes: a remote UI's `ui.render` sanitizes and
/// inserts its HTML on the page's main thread, and deep nesting makes html5ever's parse
/// quadratic (9 990 nested `<div>`, 50 KB, ~310 ms in wasm). A bucket that fills with the
/// duration of each piece of work and drains at `share` of the time that passes; work is
/// refused while it holds more than `burst_ms`. A plugin whose work is slow so gets, after a
/// first burst, about `share` of the page's time, however fast it calls.
///
/// Times are a [`Clock`]'s milliseconds; as in [`TokenBucket`], a reading before the latest one
/// seen drains nothing and a non-finite one counts as no time passed.
///
/// ```
/// use plugin_warden::core::ratelimit::BusyBudget;
/// let mut b = BusyBudget::new(0.25, 250.0);
/// assert!(b.admits(0.0));
/// b.spent(0.0, 300.0); // 300 ms of work
/// assert!(!b.admits(300.0)); // over the burst: refused
/// assert!(b.admits(500.0)); // 200 ms later a quarter of that, 50, has drained: 250 left
/// ```
#[derive(Debug, Clone)]
pub struct BusyBudget {
    level_ms: f64,
    at_ms: f64,
    share: f64,
    burst_ms: f64,
}

impl BusyBudget {
    /// A budget of `share` (0 to 1) of the time, after a burst of `burst_ms`.
    pub fn new(share: f64, burst_ms: f64) -> Self {
        BusyBudget {
            level_ms: 0.0,
            at_ms: f64::NAN,
            share,
            burst_ms,
        }
    }

    fn drain(&mut self, now_ms: f64) {
        if !now_ms.is_finite() {
            return;
        }
        if !self.at_ms.is_finite() {
            self.at_ms = now_ms;
        } else if now_ms > self.at_ms {
            self.level_ms = (self.level_ms - (now_ms - self.at_ms) * self.share).max(0.0);
            self.at_ms = now_ms;
        }
    }

    /// Whether work may start at `now_ms`.
    pub fn admits(&mut self, now_ms: f64) -> bool {
        self.drain(now_ms);
        self.level_ms <= self.burst_ms
    }

    /// Work that started at `start_ms` ended at `end_ms`: charge its duration.
    pub fn spent(&mut self, start_ms: f64, end_ms: f64) {
        self.drain(end_ms);
        let took = end_ms - start_ms;
        if took.is_finite() && took > 0.0 {
            self.level_ms += took;
        }
    }

    /// What the bucket holds now, in milliseconds of work.
    pub fn level_ms(&self) -> f64 {
        self.level_ms
    }
}
