// Types for plugin-warden/client (the plugin side). See DESIGN.md §6.

/** Stable error codes (API). Messages are not API. */
export type ErrorCode =
  | 'INVALID_MANIFEST' | 'PERMISSION_DENIED' | 'NETWORK_DENIED' | 'NETWORK_ERROR' | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED' | 'MESSAGE_REJECTED' | 'INTEGRITY_MISMATCH' | 'SIGNATURE_INVALID'
  | 'INCOMPATIBLE' | 'BUNDLE_REJECTED' | 'MOUNT_FAILED' | 'TIMEOUT' | 'NOT_FOUND'
  | 'INVALID_ARGUMENT' | 'ALREADY_EXISTS' | 'TRUSTED_TYPES' | 'NOT_IMPLEMENTED' | 'NOT_INITIALIZED' | 'MODULE_NOT_LOADED' | 'INTERNAL';

/** An error from the host or the client, with a stable `code`. */
export declare class PluginWardenError extends Error {
  constructor(code: ErrorCode | string, message: string, permission?: string);
  readonly name: 'PluginWardenError';
  readonly code: ErrorCode | string;
  /** The missing capability or action, for PERMISSION_DENIED. */
  readonly permission?: string;
}

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Binary data: crosses the bridge as bytes (never as JSON), counted against the same byte
 * limits. What arrives is the same type, over its own buffer.
 */
export type Binary =
  | ArrayBuffer | DataView | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array
  | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** JSON, with binary data anywhere a value may be (stored values, event data, call arguments). */
export type Data = null | boolean | number | string | Binary | Data[] | { [key: string]: Data };

export type Capability = 'storage' | 'api:read' | 'api:write' | 'events' | 'ui:notify' | 'ui:render' | 'permissions';

export interface ConnectOptions {
  /** Handshake timeout in ms (default 10000). */
  timeout?: number;
  /** Per-call timeout in ms (default 10000). */
  callTimeout?: number;
  /** Calls allowed in flight at once (default 64). */
  maxInFlight?: number;
}

export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  /** Text, or binary data (sent as bytes). */
  body?: string | ArrayBuffer | ArrayBufferView;
  /** `'arraybuffer'`: the response body is an `ArrayBuffer` (not for `route:` requests). */
  responseType?: 'text' | 'arraybuffer';
}

export interface FetchResponse<B extends string | ArrayBuffer = string> {
  status: number;
  headers: Record<string, string>;
  body: B;
}

/** A user interaction in a remote UI (`ui.action` event). */
export interface UiAction {
  /** The `data-action` attribute of the element (or its nearest ancestor with one). */
  action: string;
  /** The DOM event. */
  type: 'click' | 'input' | 'change' | 'submit';
  /** Inputs: the control's value (`''` for an unchecked checkbox or radio); buttons: their `value` attribute. */
  value?: string;
  /** Submits: the form's fields by name (the last value of a repeated name). */
  form?: Record<string, string>;
}

export type Unsubscribe = (() => void) & { readonly ready: Promise<void> };

export interface PluginSdk {
  readonly pluginId: string;
  /** Capabilities held now (from the welcome, then kept current by `permissions.changed`). */
  readonly grants: string[];
  /** The plugin's own declared RBAC actions the current user holds now. */
  readonly actions: string[];
  /** The installed version (manifest `version`), or null. */
  readonly version: string | null;
  /** The version the last update replaced, so the plugin can migrate its data; null if never updated. */
  readonly previousVersion: string | null;
  storage: {
    get<T extends Data = Data>(key: string): Promise<T | undefined>;
    set(key: string, value: Data): Promise<null>;
    remove(key: string): Promise<null>;
    keys(): Promise<string[]>;
    clear(): Promise<null>;
  };
  api: {
    fetch(url: string, init: FetchInit & { responseType: 'arraybuffer' }): Promise<FetchResponse<ArrayBuffer>>;
    fetch(url: string, init?: FetchInit): Promise<FetchResponse>;
    /**
     * Whether `fetch(url, { method })` would pass the host's policy now (capability, network
     * allowlist or `route:` rules, the user's RBAC), decided by the same code; sends nothing.
     * `false` (never an error) when the plugin lacks `api:read`/`api:write`.
     */
    canFetch(url: string, init?: { method?: string }): Promise<boolean>;
  };
  permissions: {
    list(): Promise<string[]>;
    has(permission: string): Promise<boolean>;
    request(permission: string, reason: string): Promise<boolean>;
    /** Called when a grant, revocation or user switch changes what this plugin may do; returns `off()`. */
    onChange(handler: (granted: string[], detail: { actions: string[] }) => void): () => void;
  };
  events: {
    /** `T` narrows what the handler expects (e.g. `Json` for events that never hold binary data). */
    on<T extends Data = Data>(name: string, handler: (data: T) => void): Unsubscribe;
    off<T extends Data = Data>(name: string, handler: (data: T) => void): void;
    emit(name: string, data: Data): Promise<null>;
  };
  ui: {
    notify(message: string, level?: 'info' | 'success' | 'warning' | 'error'): Promise<null>;
    /**
     * Replace the remote UI's content with `html`, sanitized by the host (remote-UI mounts,
     * `{ mode: 'worker', ui: 'shadow' }`, with the `ui:render` capability; elsewhere
     * PERMISSION_DENIED). URLs survive only into the manifest's `assets` origins. RATE_LIMITED
     * when your renders took more than the host's share of its page's time (a quarter, by
     * default); TIMEOUT when this HTML took the host longer than `limits.renderCleanMs` (100 ms
     * by default) to clean (thousands of nested elements): nothing of it is shown.
     */
    render(html: string): Promise<null>;
    /** Call `handler` for each click, input, change or submit on a `data-action` element. */
    onAction(handler: (action: UiAction) => void): () => void;
  };
  plugins: {
    /** Call `name` exposed by plugin `pluginId` (declared in your manifest's `consumes`); resolves with its answer. */
    call<T extends Data = Data>(pluginId: string, name: string, args?: Data): Promise<T>;
    /** Answer calls to `name` (your manifest's `exposes`); `caller` is the true calling plugin. Returns `off()`. */
    handle<A extends Data = Data>(name: string, handler: (args: A, caller: { pluginId: string; version: string | null }) => Data | void | Promise<Data | void>): () => void;
  };
  /** Close the channel; pending calls reject with MOUNT_FAILED. */
  close(): void;
}

/** Perform the handshake with the host. Rejects with TIMEOUT or MOUNT_FAILED. */
export declare function connect(options?: ConnectOptions): Promise<PluginSdk>;

/** An SDK over a port the host handed over directly (first-party shadow mounts' `render`). */
export declare function fromPort(port: MessagePort, welcome: { pluginId: string; grants: string[]; actions?: string[]; version?: string | null; previousVersion?: string | null }, options?: ConnectOptions): PluginSdk;

/** The client as one self-contained factory (used by the worker runner and srcdoc frames). */
export declare function pluginWardenClient(): { connect: typeof connect; fromPort: typeof fromPort; PluginWardenError: typeof PluginWardenError };
