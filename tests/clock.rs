//! Monotonic time: rate limits and the flood detector run on the engine's monotonic clock
//! (`Engine::set_clock`; `performance.now()` in the browser), audit timestamps on the wall-clock
//! `now_ms` callers pass (`Date.now()`), and neither a clock nor a wall time that goes backwards
//! refills a token bucket or lifts a suspension.

use std::cell::Cell;
use std::rc::Rc;

use serde_json::{json, Value};

use plugin_warden::core::engine::{Engine, HostConfig, InstallInput, Status};
use plugin_warden::core::error::ErrorCode;
use plugin_warden::core::provenance::Provenance;
use plugin_warden::core::ratelimit::Clock;
use plugin_warden::core::storage::MemoryBackend;

mod support;
use support::{send, Sent};

const APP: &str = "acme-app";
const WALL: f64 = 1_700_000_000_000.0;

/// A clock the test moves while the engine owns it.
#[derive(Clone)]
struct Shared(Rc<Cell<f64>>);

impl Clock for Shared {
    fn now_ms(&self) -> f64 {
        self.0.get()
    }
}

fn mounted(limits: Value) -> Engine<MemoryBackend> {
    let config: HostConfig = serde_json::from_value(json!({ "limits": limits })).expect("config");
    let mut e = Engine::new(config, MemoryBackend::new()).expect("engine");
    let m = json!({ "id": APP, "name": "T", "version": "1.0.0", "permissions": ["storage"] });
    let checked = e.check_manifest(&m.to_string(), WALL).expect("manifest");
    e.finish_install(
        checked,
        &InstallInput::default(),
        Provenance::Unsigned,
        WALL,
    )
    .expect("install");
    e.set_status(APP, Status::Mounting, WALL).expect("mounting");
    e.set_status(APP, Status::Mounted, WALL).expect("mounted");
    e
}

/// `Some(true)` served, `Some(false)` refused with `RATE_LIMITED`, `None` suspended or dropped.
fn call(e: &mut Engine<MemoryBackend>, id: u64, wall: f64) -> Option<bool> {
    let m = json!({ "v": 1, "id": id, "method": "storage.keys", "params": {} }).to_string();
    match send(e, APP, Some(&m), wall) {
        Sent::Reply(r) => {
            let r: Value = serde_json::from_str(&r).expect("reply JSON");
            if r["ok"] == true {
                Some(true)
            } else {
                assert_eq!(r["error"]["code"], "RATE_LIMITED", "{r}");
                Some(false)
            }
        }
        Sent::Suspend { .. } | Sent::Drop => None,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn the_limiter_runs_on_the_monotonic_clock_and_audit_on_wall_time() {
    let mut e = mounted(json!({ "callsPerSecond": 1, "burst": 1, "suspendAfter": 0 }));
    let clock = Shared(Rc::new(Cell::new(500.0)));
    e.set_clock(Box::new(clock.clone()));
    assert_eq!(call(&mut e, 1, WALL), Some(true));
    assert_eq!(call(&mut e, 2, WALL), Some(false));
    // The wall clock jumps an hour ahead (NTP, a user changing the time): no refill, since the
    // monotonic clock did not move.
    assert_eq!(call(&mut e, 3, WALL + 3_600_000.0), Some(false));
    // A second of monotonic time refills one token, whatever the wall clock says.
    clock.0.set(1500.0);
    assert_eq!(call(&mut e, 4, WALL - 3_600_000.0), Some(true));
    // Audit timestamps are the wall-clock times the caller passed.
    let refusal = e
        .audit_log()
        .into_iter()
        .find(|ev| ev.code == Some(ErrorCode::RateLimited))
        .expect("the refusal is audited");
    assert_eq!(refusal.time_ms, WALL);
}

#[test]
fn a_clock_going_backwards_cannot_refill_the_bucket() {
    let mut e = mounted(json!({ "callsPerSecond": 1, "burst": 1, "suspendAfter": 0 }));
    let clock = Shared(Rc::new(Cell::new(10_000.0)));
    e.set_clock(Box::new(clock.clone()));
    assert_eq!(call(&mut e, 1, WALL), Some(true));
    let mut id = 2;
    for _ in 0..5 {
        // Back a minute, then forward to where it was: the same interval is never refilled.
        clock.0.set(-50_000.0);
        assert_eq!(call(&mut e, id, WALL), Some(false));
        clock.0.set(10_000.0);
        assert_eq!(call(&mut e, id + 1, WALL), Some(false));
        id += 2;
    }
    clock.0.set(11_000.0);
    assert_eq!(call(&mut e, id, WALL), Some(true));
}

#[test]
fn without_a_clock_a_wall_clock_swinging_back_and_forth_refills_nothing() {
    let mut e = mounted(json!({ "callsPerSecond": 1, "burst": 1, "suspendAfter": 0 }));
    assert_eq!(call(&mut e, 1, WALL), Some(true));
    let mut id = 2;
    for _ in 0..5 {
        assert_eq!(call(&mut e, id, WALL - 3_600_000.0), Some(false));
        assert_eq!(call(&mut e, id + 1, WALL), Some(false));
        id += 2;
    }
    assert_eq!(call(&mut e, id, WALL + 1000.0), Some(true));
}

#[test]
fn a_clock_going_backwards_neither_resets_the_flood_window_nor_lifts_a_suspension() {
    let mut e = mounted(json!({ "callsPerSecond": 1, "burst": 1, "suspendAfter": 3 })); // window 2 s
    let clock = Shared(Rc::new(Cell::new(100_000.0)));
    e.set_clock(Box::new(clock.clone()));
    assert_eq!(call(&mut e, 1, WALL), Some(true));
    assert_eq!(call(&mut e, 2, WALL), Some(false));
    // Each refusal "an hour earlier" still lands inside the window that ends now.
    clock.0.set(100_000.0 - 3_600_000.0);
    assert_eq!(call(&mut e, 3, WALL), Some(false));
    clock.0.set(100_000.0 - 7_200_000.0);
    assert_eq!(call(&mut e, 4, WALL), None, "the third refusal suspends");
    assert!(matches!(
        e.status(APP).expect("installed"),
        Status::Failed {
            code: ErrorCode::RateLimited,
            ..
        }
    ));
    for (i, t) in [0.0, -1e12, 100_000.0, f64::NAN].into_iter().enumerate() {
        clock.0.set(t);
        assert_eq!(call(&mut e, 10 + i as u64, WALL), None, "suspended at {t}");
    }
}
