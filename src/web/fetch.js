// One API-client request for plugin-warden (the Rust side checks the URL against the plugin's
// allowlist before, checks the final URL after, and decides codes and retries).
// No cookies or credentials, no redirects followed, a timeout and a response size limit.
// A failure is thrown as an Error with `kind`, what happened (the core's TransportFailure):
// 'timeout', 'unreachable' (DNS, connection, TLS, CORS), 'redirect', 'too-large'.
// `body` is a string, an ArrayBuffer (binary data from the plugin's side table) or undefined;
// with `binary` the answer's body is the ArrayBuffer of the bytes read, else their UTF-8 text.
export async function pwFetchOnce(url, method, headers, body, binary, timeoutMs, maxBytes) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  const fail = (kind, message) => Object.assign(new Error(message), { kind });
  try {
    let res;
    try {
      res = await fetch(url, {
        method, headers, body: body ?? undefined,
        credentials: 'omit', redirect: 'manual', cache: 'no-store', referrerPolicy: 'no-referrer',
        mode: 'cors', signal: ctrl.signal,
      });
    } catch (e) {
      if (ctrl.signal.aborted) throw fail('timeout', `${method} ${url} got no answer within ${timeoutMs} ms`);
      throw fail('unreachable', `${method} ${url} failed: the host is unreachable (DNS, connection, TLS) or refused the CORS request`);
    }
    if (res.type === 'opaqueredirect') {
      throw fail('redirect', `${method} ${url} answered with a redirect, and redirects are never followed`);
    }
    const declared = Number(res.headers.get('content-length'));
    if (declared > maxBytes) throw fail('too-large', `the response is ${declared} bytes; at most ${maxBytes} are accepted`);
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
          throw fail('too-large', `the response exceeded ${maxBytes} bytes`);
        }
        chunks.push(value);
      }
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) { bytes.set(c, at); at += c.byteLength; }
    return {
      status: res.status, headers: [...res.headers],
      body: binary ? bytes.buffer : new TextDecoder().decode(bytes), url: res.url || url,
    };
  } finally {
    clearTimeout(timer);
  }
}
