// Timers for the host's rare paths (src/web/later.rs): a mount's handshake timeout, a refused
// page's grace period, the package's permission dialog. (A notification's removal runs no code
// of the core: pwRemoveLater.) What their callbacks run is seldom code of the core's first
// part, and the rest of the core would be loaded synchronously, on the page's main thread, at
// the moment they fire: a mount timeout fires most often when the network is slow (the page
// froze while the request took) or gone (the load failed inside the timer, and the mount never
// settled). So when one is due and the part is not loaded, it is loaded asynchronously first
// (`preload`, set by the entry module once init() has run), again and again (every 0.5 s,
// doubling up to 30 s) while that fails; the callback runs once it has loaded (with `true`). A
// timer that must not wait (`urgent`: a mount's handshake timeout or the permission dialog,
// which would otherwise leave the mount pending, or the plugin's call unanswered, for as long
// as the network is gone) runs its callback with `false` instead at the first load that fails:
// the callback then runs code of the first part only. Cancelled (pwCancel: the Rust side
// dropped the timer) before or while it waits, it never runs.
let preload = null; // () => a Promise of the part loaded, or null when it is loaded

/** Set what loads the core's second part ahead of a due callback (a function, or null). */
export function pwSetLatePreload(load) {
  preload = typeof load === 'function' ? load : null;
}

/**
 * Call `callback(true)` once, `ms` after now (and after the core's second part has loaded); if
 * `urgent`, `callback(false)` when that load fails.
 */
export function pwLater(ms, callback, urgent) {
  const timer = { id: 0, live: true, retry: 500 };
  const run = (loaded) => {
    if (!timer.live) return;
    timer.live = false;
    callback(loaded);
  };
  const due = () => {
    if (!timer.live) return;
    let loading = null;
    try {
      loading = preload === null ? null : preload();
    } catch {
      loading = null; // cannot tell: run it (a synchronous load, as without this)
    }
    if (loading === null || loading === undefined) {
      run(true);
      return;
    }
    loading.then(() => run(true), () => {
      if (urgent) return run(false);
      if (!timer.live) return;
      timer.id = setTimeout(due, timer.retry);
      timer.retry = Math.min(timer.retry * 2, 30_000);
    });
  };
  timer.id = setTimeout(due, ms);
  return timer;
}

/**
 * The clock of time-limited cleans (src/web/sanitizer.rs): `performance.now()`, standing still
 * while a part of a module loads synchronously (src/web/split-loader.js adds each load's time
 * under this symbol), as the sanitizer module's clock does (its tree.js `pwNow`).
 */
export function pwCleanNow() {
  return performance.now() - (globalThis[Symbol.for('plugin-warden: synchronous loads, ms')] ?? 0);
}

/**
 * Remove `element` `ms` after now (a toast). JS alone: a timer of the core would load the core's
 * second part first (pwLater) and, with the network gone, leave the toast on the page.
 */
export function pwRemoveLater(element, ms) {
  setTimeout(() => element.remove(), ms);
}

/** Cancel a pwLater timer: its callback never runs. */
export function pwCancel(timer) {
  timer.live = false;
  clearTimeout(timer.id);
}
