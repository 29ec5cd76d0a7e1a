// Test harness for the plugin side (src/client/index.js), without a browser.
//
// The client's logic lives in the self-contained factory `pluginWardenClient()`, which the worker
// runner stringifies into a blob: worker. We do the same: its source runs in a fresh `node:vm`
// context whose global `self` is a fake frame window or a fake `WorkerGlobalScope` instance, and
// the port the "host" hands over is one end of Node's real `MessageChannel` (structured clone,
// ordered delivery, transfer semantics), so the client really serializes what it posts.
//
//   const h = createHarness();                  // frame path ({ mode: 'worker' } for a worker)
//   const p = h.client.connect({ timeout: 50 });
//   h.hellos                                    // [{ msg, targetOrigin }] the client posted
//   const host = h.welcome({ pluginId, grants }); // dispatches a valid welcome with a fresh port
//   const sdk = await p;
//   sdk.storage.get('k'); const call = await host.next(); host.send({ v: 1, id: call.id, ok: true });
//   h.dispose();                                // closes the ports, clears pending timers
import vm from 'node:vm';
import { MessageChannel } from 'node:worker_threads';
import { pluginWardenClient } from '../../src/client/index.js';

export const HOST_ORIGIN = 'http://host.example';
export const NONCE = '0123456789abcdef0123456789abcdef';
export const NAME = (nonce = NONCE, hostOrigin = HOST_ORIGIN) => `plugin-warden|1|${nonce}|${hostOrigin}`;

/** Resolve after `ms` milliseconds (real timers). */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Observe a promise without letting it become an unhandled rejection.
 * `state()` is 'pending' | 'resolved' | 'rejected'; `value` / `error` hold the outcome.
 */
export function track(promise) {
  const t = { state: 'pending', value: undefined, error: undefined, promise };
  promise.then((v) => { t.state = 'resolved'; t.value = v; }, (e) => { t.state = 'rejected'; t.error = e; });
  return t;
}

/** The host end of a port: a queue of what the client posted, and `send`. */
export class HostPort {
  constructor(port) {
    this.port = port;
    this.received = [];
    this.waiters = [];
    port.onmessage = (e) => {
      const w = this.waiters.shift();
      if (w) w.resolve(e.data);
      else this.received.push(e.data);
    };
  }

  /** The next message the client posts (rejects after `ms`). */
  next(ms = 1000) {
    if (this.received.length) return Promise.resolve(this.received.shift());
    return new Promise((resolve, reject) => {
      const w = { resolve: (d) => { clearTimeout(timer); resolve(d); } };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`the client posted nothing on the port within ${ms} ms`));
      }, ms);
      this.waiters.push(w);
    });
  }

  /** Resolves true when nothing arrives on the port within `ms` (what is there stays queued). */
  async quiet(ms = 30) {
    if (this.received.length) return false;
    await sleep(ms);
    return this.received.length === 0;
  }

  send(msg) { this.port.postMessage(msg); }

  close() { this.port.close(); }
}

/**
 * A fresh client in a fresh vm context.
 * @param {{mode?: 'frame'|'worker', name?: string, strictTargetOrigin?: boolean}} [o]
 *   `name`: the frame's window.name (default: a valid bootstrap for HOST_ORIGIN).
 *   `strictTargetOrigin` (default true): the fake `parent.postMessage` throws a SyntaxError
 *   for a target origin a browser refuses (not '*', '/', or an absolute URL), as browsers do.
 */
export function createHarness({ mode = 'frame', name = NAME(), strictTargetOrigin = true } = {}) {
  const listeners = new Set();
  const hellos = [];
  const uncaught = [];
  const timers = new Set();
  const ports = [];

  const eventTarget = {
    addEventListener(type, fn) { if (type === 'message') listeners.add(fn); },
    removeEventListener(type, fn) { if (type === 'message') listeners.delete(fn); },
  };

  // Browsers report an exception thrown by a timer callback (window.onerror) and carry on; the
  // client relies on that to surface event-handler errors. Capture them instead of letting them
  // crash the Node test process.
  const sandboxSetTimeout = (fn, ms, ...args) => {
    const t = setTimeout(() => {
      timers.delete(t);
      try { fn(...args); } catch (e) { uncaught.push(e); }
    }, ms);
    timers.add(t);
    return t;
  };
  const sandboxClearTimeout = (t) => { timers.delete(t); clearTimeout(t); };

  // Main-realm Promise and Error, so `instanceof Error` and node:assert behave as for an import.
  const sandbox = {
    setTimeout: sandboxSetTimeout,
    clearTimeout: sandboxClearTimeout,
    Promise,
    Error,
    console,
    // Frames and workers have it; the client's call deadlines are on this monotonic clock.
    performance,
  };
  vm.createContext(sandbox);

  let self;
  const parent = {
    postMessage(msg, targetOrigin) {
      if (strictTargetOrigin && targetOrigin !== '*' && targetOrigin !== '/') {
        try { new URL(targetOrigin); } catch {
          const e = new SyntaxError(`Failed to execute 'postMessage' on 'Window': Invalid target origin '${targetOrigin}' in a call to 'postMessage'.`);
          throw e;
        }
      }
      hellos.push({ msg: structuredClone(msg), targetOrigin });
    },
  };

  if (mode === 'worker') {
    // A class of the sandbox's own realm, as a worker's global would have.
    vm.runInContext('globalThis.WorkerGlobalScope = class WorkerGlobalScope {};', sandbox);
    self = vm.runInContext('new WorkerGlobalScope()', sandbox);
    Object.assign(self, eventTarget, {
      postMessage(msg) { hellos.push({ msg: structuredClone(msg), targetOrigin: undefined }); },
    });
  } else {
    self = { name, parent, ...eventTarget };
  }
  sandbox.self = self;

  const client = vm.runInContext(`(${pluginWardenClient.toString()})()`, sandbox, {
    filename: 'plugin-warden-client.vm.js',
  });

  const h = {
    sandbox,
    self,
    parent,
    client,
    hellos,
    uncaught,
    /** How many 'message' listeners the client has on `self`. */
    get listenerCount() { return listeners.size; },
    /** Dispatch a raw `message` event to the client's listeners on `self`. */
    dispatch(event) {
      for (const fn of [...listeners]) fn(event);
    },
    /** A fresh channel; the client gets port2 (its end), we keep port1 (the host end). */
    channel() {
      const ch = new MessageChannel();
      ports.push(ch.port1, ch.port2);
      return { host: new HostPort(ch.port1), clientPort: ch.port2 };
    },
    /**
     * Dispatch a valid welcome (override any event field via `event`, any data field via `data`).
     * Returns the HostPort.
     */
    welcome({ pluginId = 'acme-patents-app', grants = ['storage'], data = {}, event = {} } = {}) {
      const { host, clientPort } = h.channel();
      const msg = { ns: 'plugin-warden', v: 1, type: 'welcome', pluginId, grants, ...data };
      const ev = mode === 'worker'
        ? { data: msg, ports: [clientPort] }
        : { source: parent, origin: HOST_ORIGIN, data: msg, ports: [clientPort] };
      h.dispatch({ ...ev, ...event });
      return host;
    },
    /** Handshake in one go: resolves `{ sdk, host }`. */
    async connect(options = {}, welcome = {}) {
      const p = client.connect({ timeout: 1000, ...options });
      const host = h.welcome(welcome);
      const sdk = await p;
      h.sdk = sdk;
      return { sdk, host };
    },
    dispose() {
      if (h.sdk) { try { h.sdk.close(); } catch { /* already closed */ } }
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const p of ports) p.close();
      listeners.clear();
    },
  };
  return h;
}
