// plugin-warden/client — the plugin side of the plugin-warden bridge.
//
// A small, dependency-free ES module for code running inside a plugin iframe (or worker)
// mounted by `PluginHost.mount`. `connect()` performs the one-time handshake with the host and
// returns an SDK object whose every method is a promise RPC over a dedicated MessagePort.
//
// Wire protocol (DESIGN.md §5): hello/welcome over window.postMessage, then
// calls `{v:1, id, method, params}` and replies `{v:1, id, ok, value | error}` on the port.

// Everything lives in one self-contained factory so that the worker runner can start the very
// same client inside a blob: worker (as `pluginWardenClient.toString()`), with no import there.
export function pluginWardenClient() {
  const NS = 'plugin-warden';
  const V = 1;

  /** An error reported by the host or by this client, with a stable `code`. */
  class PluginWardenError extends Error {
    constructor(code, message, permission) {
      super(message);
      this.name = 'PluginWardenError';
      this.code = code;
      if (permission !== undefined) this.permission = permission;
    }
  }

  // Tell the host, as soon as this page runs the client, that it loaded: a page the browser
  // refused to display (the SDK's embedded CSP) never can, so the host fails such a mount at
  // once instead of at the handshake timeout. A timing hint only: it carries no nonce.
  try {
    if (typeof window !== 'undefined' && window.parent !== window) {
      const bootstrap = String(self.name || '').split('|');
      if (bootstrap.length === 4 && bootstrap[0] === NS && bootstrap[1] === String(V)) {
        window.parent.postMessage({ ns: NS, v: V, type: 'present' }, bootstrap[3]);
      }
    }
  } catch { /* a cross-origin parent or an odd name only means no hint */ }

  // The host names the frame `plugin-warden|1|<nonce>|<host origin>`. Read it once and clear it,
  // so a page this frame later navigates to cannot learn the nonce.
  function readFrameBootstrap() {
    let raw = '';
    try { raw = String(self.name || ''); } catch { return null; }
    const parts = raw.split('|');
    if (parts.length !== 4 || parts[0] !== NS || parts[1] !== String(V)) return null;
    // The hello (and its nonce) goes only to a real tuple origin: never '*', never 'null'.
    if (!/^https?:\/\/[^\s/?#@]+$/.test(parts[3]) || !/^[A-Za-z0-9_-]{16,128}={0,2}$/.test(parts[2])) return null;
    try { self.name = ''; } catch { /* ignore: a read-only name only means it stays */ }
    return { nonce: parts[2], hostOrigin: parts[3] };
  }

  const isWorker = typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope;

  /**
   * Connect to the host. Resolves with the SDK once the host has answered the handshake.
   * @param {{timeout?: number, callTimeout?: number, maxInFlight?: number}} [options]
   */
  function connect(options = {}) {
    const opts = {
      timeout: options.timeout ?? 10_000,
      callTimeout: options.callTimeout ?? 10_000,
      maxInFlight: options.maxInFlight ?? 64,
    };
    return new Promise((resolve, reject) => {
      let boot = null;
      if (!isWorker) {
        boot = readFrameBootstrap();
        if (!boot) {
          reject(new PluginWardenError('MOUNT_FAILED',
            'no plugin-warden bootstrap in window.name: this page must be mounted by PluginHost.mount'));
          return;
        }
      }
      const onMessage = (event) => {
        // In a frame, only the host (our parent, at the origin it announced) may welcome us.
        // In a worker, only the runner that created us can post to us at all.
        if (!isWorker && (event.source !== self.parent || event.origin !== boot.hostOrigin)) return;
        const d = event.data;
        if (!d || d.ns !== NS || d.v !== V || d.type !== 'welcome') return;
        const port = event.ports && event.ports[0];
        if (!port) return;
        cleanup();
        resolve(createSdk(port, d, opts));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new PluginWardenError('TIMEOUT', `the host did not answer the handshake within ${opts.timeout} ms`));
      }, opts.timeout);
      function cleanup() {
        clearTimeout(timer);
        self.removeEventListener('message', onMessage);
      }
      self.addEventListener('message', onMessage);
      try {
        if (!isWorker) {
          self.parent.postMessage({ ns: NS, v: V, type: 'hello', nonce: boot.nonce }, boot.hostOrigin);
        } else {
          self.postMessage({ ns: NS, v: V, type: 'hello' });
        }
      } catch (e) {
        cleanup();
        reject(new PluginWardenError('MOUNT_FAILED', `cannot say hello to the host: ${e && e.message}`));
      }
    });
  }

  function createSdk(port, welcome, opts) {
    const pending = new Map();
    // Event name -> { handlers: Set, ready: Promise } (one subscription per name).
    const subscriptions = new Map();
    // ui.onAction callbacks: the host sends `ui.action` events to remote-UI plugins unasked.
    const actionHandlers = new Set();
    // permissions.onChange callbacks, and what the host last said this plugin may do.
    const permissionHandlers = new Set();
    // sdk.plugins.handle: functions other plugins may call (declared in the manifest's exposes).
    const exposed = new Map();
    // (`call` is shadowed inside port.onmessage, where replies are looked up.)
    const respond = (params) => call('plugins.respond', params);
    const strings = (v) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.slice() : null);
    let granted = strings(welcome.grants) || [];
    let actions = strings(welcome.actions) || [];
    let nextId = 1;
    let closed = false;

    // The host refuses these keys in everything a plugin sends; refuse them coming back too.
    const FORBIDDEN = ['__proto__', 'constructor', 'prototype'];
    function hasForbiddenKey(v, depth) {
      if (v === null || typeof v !== 'object') return false;
      if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return false; // binary data: bytes, no keys
      if (depth > 64) return true;
      if (Array.isArray(v)) return v.some((x) => hasForbiddenKey(x, depth + 1));
      return Object.keys(v).some((k) => FORBIDDEN.includes(k) || hasForbiddenKey(v[k], depth + 1));
    }

    port.onmessage = (event) => {
      const d = event.data;
      if (!d || typeof d !== 'object' || d.v !== V) return;
      if ('event' in d) {
        // Exactly {v, event, data}: anything else is not an event.
        if (typeof d.event !== 'string' || !('data' in d) || Object.keys(d).length !== 3) return;
        if (hasForbiddenKey(d.data, 0)) return;
        // The heartbeat: answered here, whatever the plugin's code does (a page or worker that
        // stops running stops answering, and the host fails it with TIMEOUT).
        if (d.event === 'ping') {
          const seq = d.data && d.data.seq;
          if (Number.isSafeInteger(seq) && seq >= 0) {
            try { port.postMessage({ v: V, event: 'pong', data: { seq } }); } catch { /* closed */ }
          }
          return;
        }
        if (d.event === 'plugins.call') {
          const c = d.data;
          if (!c || !Number.isSafeInteger(c.call) || typeof c.name !== 'string' || !c.caller
            || typeof c.caller.pluginId !== 'string') return;
          const caller = Object.freeze({ pluginId: c.caller.pluginId, version: typeof c.caller.version === 'string' ? c.caller.version : null });
          const fn = exposed.get(c.name);
          Promise.resolve()
            .then(() => {
              if (!fn) throw new Error(`no handler for ${c.name}: call sdk.plugins.handle(${JSON.stringify(c.name)}, fn)`);
              return fn(c.args, caller);
            })
            .then(
              (value) => respond({ call: c.call, value: value === undefined ? null : value }),
              (e) => respond({ call: c.call, error: String((e && e.message) || e).slice(0, 1024) }),
            )
            .catch(() => { /* the caller times out */ });
          return;
        }
        if (d.event === 'permissions.changed') {
          const g = d.data && strings(d.data.granted);
          const a = d.data && strings(d.data.actions);
          if (!g || !a) return;
          granted = g;
          actions = a;
          for (const fn of [...permissionHandlers]) {
            try { fn(granted.slice(), { actions: actions.slice() }); } catch (e) { setTimeout(() => { throw e; }); }
          }
          return;
        }
        const sub = subscriptions.get(d.event);
        const handlers = [...(sub ? sub.handlers : []), ...(d.event === 'ui.action' ? actionHandlers : [])];
        for (const fn of handlers) {
          try { fn(d.data); } catch (e) { setTimeout(() => { throw e; }); }
        }
        return;
      }
      const call = pending.get(d.id);
      if (!call) return;
      pending.delete(d.id);
      if (d.ok === true && !('error' in d) && !hasForbiddenKey(d.value, 0)) {
        call.resolve(d.value);
      } else if (d.ok === false && d.error && typeof d.error === 'object' && !('value' in d)) {
        const e = d.error;
        call.reject(new PluginWardenError(String(e.code || 'INTERNAL'), String(e.message || 'the host refused the call'), e.permission));
      } else {
        call.reject(new PluginWardenError('MESSAGE_REJECTED', 'the host sent a malformed reply'));
      }
    };
    port.start();

    // Call timeouts: one timer for the whole table, not a setTimeout/clearTimeout pair per call
    // (that pair was a measurable part of a round trip). Every call gets the same timeout, so
    // deadlines grow in insertion order and the first pending call is the next to expire; a
    // reply only deletes its entry, and the timer, when it fires, fails what expired and
    // re-arms for the first call still pending.
    let sweepTimer = null;
    function arm() {
      if (sweepTimer !== null || closed) return;
      const first = pending.values().next();
      if (first.done) return;
      sweepTimer = setTimeout(sweep, Math.max(0, first.value.deadline - performance.now()));
    }
    function sweep() {
      sweepTimer = null;
      const now = performance.now();
      for (const [id, c] of pending) {
        if (c.deadline > now) break;
        pending.delete(id);
        c.reject(new PluginWardenError('TIMEOUT', `${c.method} got no reply within ${opts.callTimeout} ms`));
      }
      arm();
    }

    function call(method, params) {
      if (closed) return Promise.reject(new PluginWardenError('MOUNT_FAILED', 'the connection is closed'));
      if (pending.size >= opts.maxInFlight) {
        return Promise.reject(new PluginWardenError('RATE_LIMITED',
          `${pending.size} calls are already in flight; at most ${opts.maxInFlight} are allowed`));
      }
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, method, deadline: performance.now() + opts.callTimeout });
        try {
          port.postMessage({ v: V, id, method, params });
        } catch (err) {
          pending.delete(id);
          reject(new PluginWardenError('MESSAGE_REJECTED', `${method}: the parameters cannot be sent (${err && err.message})`));
          return;
        }
        arm();
      });
    }

    const sdk = {
      pluginId: String(welcome.pluginId),
      /** Capabilities held now (kept current by `permissions.changed`). */
      get grants() { return granted.slice(); },
      /** The plugin's own declared actions the current user holds now. */
      get actions() { return actions.slice(); },
      /** This plugin's installed version (the manifest's `version`), or null. */
      version: typeof welcome.version === 'string' ? welcome.version : null,
      /** The version an update replaced (migrate your data from it), or null. */
      previousVersion: typeof welcome.previousVersion === 'string' ? welcome.previousVersion : null,
      storage: {
        get: (key) => call('storage.get', { key }),
        set: (key, value) => call('storage.set', { key, value }),
        remove: (key) => call('storage.remove', { key }),
        keys: () => call('storage.keys', {}),
        clear: () => call('storage.clear', {}),
      },
      api: {
        // `init` null or left out is no options, as for the platform's fetch().
        fetch(url, init) {
          init ??= {};
          const params = { url };
          if (init.method !== undefined) params.method = init.method;
          if (init.headers !== undefined) params.headers = init.headers;
          if (init.body !== undefined) params.body = init.body;
          if (init.responseType !== undefined) params.responseType = init.responseType;
          return call('api.fetch', params);
        },
        // Whether api.fetch(url, { method }) would be allowed now, by the host's own policy;
        // nothing is sent. Resolves to a boolean (false, not an error, without api:read/write).
        canFetch(url, init) {
          init ??= {};
          const params = { url };
          if (init.method !== undefined) params.method = init.method;
          return call('api.canFetch', params);
        },
      },
      permissions: {
        list: () => call('permissions.list', {}),
        has: (permission) => call('permissions.has', { permission }),
        request: (permission, reason) => call('permissions.request', { permission, reason }),
        /**
         * Call `handler(granted, { actions })` whenever what this plugin may do changes (a
         * grant, a revocation, a user switch); returns `off()`.
         */
        onChange(handler) {
          if (typeof handler !== 'function') throw new PluginWardenError('INVALID_ARGUMENT', 'permissions.onChange: expected a function');
          const own = (g, detail) => handler(g, detail);
          permissionHandlers.add(own);
          return () => { permissionHandlers.delete(own); };
        },
      },
      events: {
        on(name, handler) {
          let sub = subscriptions.get(name);
          if (!sub) {
            const record = { handlers: new Set() };
            record.ready = call('events.subscribe', { name }).then(() => undefined, (e) => {
              // Only this subscription's record goes: a newer one for the name stays.
              if (subscriptions.get(name) === record) subscriptions.delete(name);
              throw e;
            });
            record.ready.catch(() => {}); // the plugin may never look at `ready`
            subscriptions.set(name, record);
            sub = record;
          }
          sub.handlers.add(handler);
          const off = () => sdk.events.off(name, handler);
          off.ready = sub.ready;
          return off;
        },
        off(name, handler) {
          const sub = subscriptions.get(name);
          if (!sub || !sub.handlers.delete(handler) || sub.handlers.size > 0) return;
          subscriptions.delete(name);
          call('events.unsubscribe', { name }).catch(() => {});
        },
        emit: (name, data) => call('events.emit', { name, data }),
      },
      ui: {
        notify: (message, level) => call('ui.notify', level === undefined ? { message } : { message, level }),
        /** Replace the remote UI's content (remote-UI mounts; needs `ui:render`). */
        render: (html) => call('ui.render', { html }),
        /** Call `handler({ action, type, value?, form? })` for each UI action; returns `off()`. */
        onAction(handler) {
          if (typeof handler !== 'function') throw new PluginWardenError('INVALID_ARGUMENT', 'ui.onAction: expected a function');
          const own = (data) => handler(data);
          actionHandlers.add(own);
          return () => { actionHandlers.delete(own); };
        },
      },
      plugins: {
        /**
         * Call `name`, exposed by plugin `pluginId` (declared in your manifest's `consumes`);
         * resolves with the callee's answer.
         */
        call: (pluginId, name, args) => call('plugins.call', { plugin: pluginId, name, args: args === undefined ? null : args }),
        /**
         * Answer calls to `name` (declared in your manifest's `exposes`) with
         * `handler(args, caller)`; `caller` is the true `{ pluginId, version }`. Returns `off()`.
         */
        handle(name, handler) {
          if (typeof handler !== 'function') throw new PluginWardenError('INVALID_ARGUMENT', 'plugins.handle: expected a function');
          exposed.set(String(name), handler);
          return () => { if (exposed.get(String(name)) === handler) exposed.delete(String(name)); };
        },
      },
      /** Close the channel; pending calls reject with MOUNT_FAILED. */
      close() {
        closed = true;
        if (sweepTimer !== null) clearTimeout(sweepTimer);
        sweepTimer = null;
        for (const [, c] of pending) {
          c.reject(new PluginWardenError('MOUNT_FAILED', 'the connection was closed'));
        }
        pending.clear();
        port.close();
      },
    };
    return sdk;
  }

  /** An SDK over a port the host handed over directly (shadow mounts' render callback). */
  function fromPort(port, welcome, options = {}) {
    return createSdk(port, welcome, {
      callTimeout: options.callTimeout ?? 10_000,
      maxInFlight: options.maxInFlight ?? 64,
    });
  }

  return { connect, fromPort, PluginWardenError };
}

const client = pluginWardenClient();

/** An error reported by the host or by this client, with a stable `code`. */
export const PluginWardenError = client.PluginWardenError;

/**
 * Connect to the host. Resolves with the SDK once the host has answered the handshake.
 * @param {{timeout?: number, callTimeout?: number, maxInFlight?: number}} [options]
 */
export const connect = client.connect;

/**
 * An SDK over a port handed over by the host itself (used for first-party shadow mounts'
 * `render` callback; plugins in frames and workers use `connect`).
 */
export const fromPort = client.fromPort;
