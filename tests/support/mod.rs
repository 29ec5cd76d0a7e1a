//! Driving the engine from native tests as the browser layer does: each plugin message through
//! [`Engine::receive`], each finished job through [`Engine::complete`], and what they answered
//! read back off the [`Effect`]s (the audit effect left aside: tests read the audit log).
//!
//! Shared by several test files, each using some of it.
#![allow(dead_code)]

use plugin_warden::core::engine::{Completion, Effect, Engine, FetchPlan, FetchResponse, Incoming};
use plugin_warden::core::error::{ErrorCode, WardenError};
use plugin_warden::core::manifest::Capability;
use plugin_warden::core::protocol::Level;
use plugin_warden::core::storage::deferred::StoragePlan;
use plugin_warden::core::storage::{StorageBackend, StorageError};
use serde_json::Value;

/// What one plugin message came to, read off the effects [`Engine::receive`] answered.
#[derive(Clone, Debug, PartialEq)]
pub enum Sent {
    /// A reply posted to the sender.
    Reply(String),
    /// Nothing to do.
    Drop,
    /// A request to perform.
    Fetch(FetchPlan),
    /// The user must be asked.
    AskPermission {
        call_id: u64,
        permission: Capability,
        reason: String,
    },
    /// A notification, then the reply.
    Notify {
        message: String,
        level: Level,
        reply: String,
    },
    /// An event for the host, then the reply.
    Emitted {
        name: String,
        data: Value,
        reply: String,
    },
    /// Remote UI to render.
    Render { call_id: u64, html: String },
    /// A message to another plugin's port, then the reply to the sender (or empty).
    Relay {
        to: String,
        message: String,
        reply: String,
    },
    /// The reply (or empty), then the mount torn down for flooding.
    Suspend { reply: String },
    /// A plan for the asynchronous storage backend.
    Storage { call_id: u64, plan: StoragePlan },
}

/// The effects other than the audit delivery.
pub fn acts(effects: Vec<Effect>) -> Vec<Effect> {
    effects
        .into_iter()
        .filter(|e| !matches!(e, Effect::Audit(_)))
        .collect()
}

/// Read one message's effects for plugin `from` back as a [`Sent`]; panics on any other shape.
pub fn sent(from: &str, effects: Vec<Effect>) -> Sent {
    let acts = acts(effects);
    let post_to_sender = |e: &Effect| match e {
        Effect::Post { to, message } if to == from => Some(message.clone()),
        _ => None,
    };
    let shape = format!("{acts:?}");
    match acts.as_slice() {
        [] => Sent::Drop,
        [Effect::Fetch { plan, .. }] => Sent::Fetch(plan.clone()),
        [Effect::AskPermission {
            call_id,
            permission,
            reason,
            ..
        }] => Sent::AskPermission {
            call_id: *call_id,
            permission: *permission,
            reason: reason.clone(),
        },
        [Effect::Render { call_id, html, .. }] => Sent::Render {
            call_id: *call_id,
            html: html.clone(),
        },
        [Effect::Storage { call_id, plan, .. }] => Sent::Storage {
            call_id: *call_id,
            plan: plan.clone(),
        },
        [Effect::Notify { message, level, .. }, reply] if post_to_sender(reply).is_some() => {
            Sent::Notify {
                message: message.clone(),
                level: *level,
                reply: post_to_sender(reply).unwrap_or_default(),
            }
        }
        [Effect::Emit { name, data, .. }, reply] if post_to_sender(reply).is_some() => {
            Sent::Emitted {
                name: name.clone(),
                data: data.clone(),
                reply: post_to_sender(reply).unwrap_or_default(),
            }
        }
        [Effect::TearDown {
            code: ErrorCode::RateLimited,
            ..
        }] => Sent::Suspend {
            reply: String::new(),
        },
        [reply, Effect::TearDown {
            code: ErrorCode::RateLimited,
            ..
        }] if post_to_sender(reply).is_some() => Sent::Suspend {
            reply: post_to_sender(reply).unwrap_or_default(),
        },
        [post] if post_to_sender(post).is_some() => {
            Sent::Reply(post_to_sender(post).unwrap_or_default())
        }
        [Effect::Post { to, message }, rest @ ..] if to != from => match rest {
            [] => Sent::Relay {
                to: to.clone(),
                message: message.clone(),
                reply: String::new(),
            },
            [reply] if post_to_sender(reply).is_some() => Sent::Relay {
                to: to.clone(),
                message: message.clone(),
                reply: post_to_sender(reply).unwrap_or_default(),
            },
            _ => panic!("effects of no known shape: {shape}"),
        },
        _ => panic!("effects of no known shape: {shape}"),
    }
}

/// Plugin `from` posts `text` (`None`: a message that could not be serialized).
pub fn send<B: StorageBackend>(
    e: &mut Engine<B>,
    from: &str,
    text: Option<&str>,
    now_ms: f64,
) -> Sent {
    send_hinted(e, from, text, None, now_ms)
}

/// [`send`], with the call id the browser layer read off the received object.
pub fn send_hinted<B: StorageBackend>(
    e: &mut Engine<B>,
    from: &str,
    text: Option<&str>,
    id_hint: Option<u64>,
    now_ms: f64,
) -> Sent {
    let message = Incoming::new(text.map(str::to_owned)).with_id_hint(id_hint);
    let effects = e.receive(from, message, now_ms);
    sent(from, effects)
}

/// The one reply [`Engine::complete`] posts to `plugin` for `done`.
pub fn completed<B: StorageBackend>(
    e: &mut Engine<B>,
    plugin: &str,
    done: Completion,
    now_ms: f64,
) -> String {
    let effects = acts(e.complete(plugin, done, now_ms));
    let replies: Vec<&String> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Post { to, message } if to == plugin => Some(message),
            _ => None,
        })
        .collect();
    match replies.as_slice() {
        [reply] => (*reply).clone(),
        _ => panic!("expected one reply to {plugin}, found {effects:?}"),
    }
}

/// The reply to an [`Sent::Fetch`] that came back with `result`.
pub fn fetch_reply<B: StorageBackend>(
    e: &mut Engine<B>,
    plugin: &str,
    call_id: u64,
    result: Result<FetchResponse, WardenError>,
    now_ms: f64,
) -> String {
    completed(e, plugin, Completion::Fetch { call_id, result }, now_ms)
}

/// The reply to a [`Sent::Storage`] plan performed with `result`.
pub fn storage_reply<B: StorageBackend>(
    e: &mut Engine<B>,
    plugin: &str,
    call_id: u64,
    result: Result<Option<Value>, StorageError>,
    now_ms: f64,
) -> String {
    completed(e, plugin, Completion::Storage { call_id, result }, now_ms)
}

/// The reply to a [`Sent::AskPermission`] the user answered with `granted`.
pub fn permission_reply<B: StorageBackend>(
    e: &mut Engine<B>,
    plugin: &str,
    call_id: u64,
    permission: Capability,
    granted: bool,
    now_ms: f64,
) -> String {
    let done = Completion::Permission {
        call_id,
        permission,
        granted,
    };
    completed(e, plugin, done, now_ms)
}

thread_local! {
    static TICKING_NOW: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
    static TICKING_READS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// A clean clock for time-limited cleans (`set_clean_clock(ticking)`) that moves on 1 ms each
/// time it is read: a clean looks once to start, and once per piece of the input it feeds the
/// parser. Per thread, as the clean clock is.
pub fn ticking() -> f64 {
    TICKING_READS.with(|r| r.set(r.get() + 1));
    TICKING_NOW.with(|n| {
        n.set(n.get() + 1.0);
        n.get()
    })
}

/// [`ticking`]'s time now, without moving it.
pub fn ticking_now() -> f64 {
    TICKING_NOW.with(std::cell::Cell::get)
}

/// How many times [`ticking`] has been read on this thread.
pub fn ticking_reads() -> u32 {
    TICKING_READS.with(std::cell::Cell::get)
}
