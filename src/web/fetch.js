// One API-client request for plugin-warden (the Rust side checks the URL against the plugin's
// allowlist before, checks the final URL after, and decides retries).
// No cookies or credentials, no redirects followed (a redirect is a final NETWORK_DENIED), a
// timeout and a response size limit.
export async function pwFetchOnce(url, method, headers, body, timeoutMs, maxBytes) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  // `final`: the same request would fail the same way again, so it is never retried.
  const fail = (code, message, final = false) => Object.assign(new Error(message), { code, final });
  try {
    let res;
    try {
      res = await fetch(url, {
        method, headers, body: body ?? undefined,
        credentials: 'omit', redirect: 'manual', cache: 'no-store', referrerPolicy: 'no-referrer',
        mode: 'cors', signal: ctrl.signal,
      });
    } catch (e) {
      if (ctrl.signal.aborted) throw fail('TIMEOUT', `${method} ${url} got no answer within ${timeoutMs} ms`);
      throw fail('NETWORK_DENIED', `${method} ${url} failed: a network error or a CORS refusal`);
    }
    if (res.type === 'opaqueredirect') {
      throw fail('NETWORK_DENIED', `${method} ${url} answered with a redirect, and redirects are never followed`, true);
    }
    const declared = Number(res.headers.get('content-length'));
    if (declared > maxBytes) throw fail('QUOTA_EXCEEDED', `the response is ${declared} bytes; at most ${maxBytes} are accepted`, true);
    const chunks = [];
    let total = 0;
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > maxBytes) {
          ctrl.abort();
          throw fail('QUOTA_EXCEEDED', `the response exceeded ${maxBytes} bytes`, true);
        }
        chunks.push(value);
      }
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) { bytes.set(c, at); at += c.byteLength; }
    return { status: res.status, headers: [...res.headers], body: new TextDecoder().decode(bytes), url: res.url || url };
  } finally {
    clearTimeout(timer);
  }
}
