//! Usage texts, printed by `--help` (stdout, exit 0) and after a usage error (stderr, exit 2).

/// `plugin-warden --help`.
pub const MAIN: &str = "\
plugin-warden — review plugins for the plugin-warden host SDK

Usage:
  plugin-warden check <plugin-dir|plugin.json> [--host-version X] [--json]
  plugin-warden sri <file> [--algorithm sha256|sha384|sha512]
  plugin-warden sign --key <private-key.pem> --manifest <plugin.json> <file> [--out <file.sig>]
  plugin-warden verify --key <public-key> --signature <file.sig> --manifest <plugin.json> <file>
  plugin-warden envelope --manifest <plugin.json> <file>
  plugin-warden csp <plugin.json|plugin-dir>... [--nonce <base64>] [--report-only] [--report-to <url>]
  plugin-warden <command> --help
  plugin-warden --version

Exit codes: 0 clean (warnings allowed), 1 findings or an invalid signature,
2 usage or I/O error (including a key that cannot be used).
";

/// `plugin-warden check --help`.
pub const CHECK: &str = "\
Usage: plugin-warden check <plugin-dir|plugin.json> [--host-version X] [--json]

Checks a plugin before it is offered:
  - the manifest (plugin.json): every problem, named by its JSON path;
  - with --host-version: the manifest's `compatibility` range admits that host version;
  - directory only: every *.js and *.mjs file under the directory (not under node_modules or
    .git; symbolic links are not followed) is scanned for eval, new Function, string timers,
    HTML sinks and URLs of origins the manifest's `network` does not declare;
  - directory only: when `entry.integrity` is set, the entry document is checked against it.
    The entry document is <plugin-dir>/<last path segment of entry.src>, or
    <plugin-dir>/index.html when entry.src ends in `/`; if that file does not exist, the
    summary says `integrity: not-found` and nothing fails.
Given a plugin.json file, only the manifest (and compatibility) are checked.

Output: one line per finding, `<file>:<line>:<col> <rule> <severity> <message>`; for the
manifest, the position is the JSON path (`plugin.json:roles[0].grants[1]`). A summary line
follows. --json prints one JSON object instead (shape `plugin-warden/check@1`, see README).

Exit: 0 no errors (warnings allowed), 1 at least one error, 2 usage or I/O error.
";

/// `plugin-warden sri --help`.
pub const SRI: &str = "\
Usage: plugin-warden sri <file> [--algorithm sha256|sha384|sha512]

Prints the Subresource Integrity string of the file (default sha384), e.g.
`sha384-<base64>`: the same as
  printf 'sha384-%s\\n' \"$(openssl dgst -sha384 -binary FILE | openssl base64 -A)\"

Exit: 0, or 2 usage or I/O error.
";

/// `plugin-warden sign --help`.
pub const SIGN: &str = "\
Usage: plugin-warden sign --key <private-key.pem> --manifest <plugin.json> <file> [--out <file.sig>]

Signs the manifest and the code file together (the envelope `plugin-warden envelope` prints:
a fixed first line, the SHA-256 of the manifest's canonical JSON, the SHA-256 of the file)
with an unencrypted PKCS#8 private key (`-----BEGIN PRIVATE KEY-----`, as
`openssl genpkey` writes). The algorithm follows from the key type:
  RSA (2048..8192 bits)  RSASSA-PKCS1-v1_5 with SHA-256 (RS256)
  EC P-256               ECDSA with SHA-256 (ES256)
The signature is printed as standard base64 on one line (or written to --out). ECDSA
signatures are the raw 64-byte r||s that WebCrypto's
  crypto.subtle.verify({name: 'ECDSA', hash: 'SHA-256'}, key, sig, data)
accepts, not the DER form `openssl dgst -sign` writes.

Exit: 0, or 2 usage, I/O or key error.
";

/// `plugin-warden verify --help`.
pub const VERIFY: &str = "\
Usage: plugin-warden verify --key <public-key> --signature <file.sig> --manifest <plugin.json> <file>

Checks that the signature was made by the key over the envelope of the manifest and the file
(what `plugin-warden sign` signs and the browser SDK verifies): a changed manifest (one
permission added) or one changed byte of the file is SIGNATURE_INVALID. The key may be PEM
(`PUBLIC KEY` or `RSA PUBLIC KEY`), SPKI DER or a JWK; RSA keys under 2048 bits are refused.
The signature file may hold base64 (standard or URL-safe) or raw bytes; ECDSA signatures may
be raw r||s (WebCrypto, `plugin-warden sign`) or DER (`openssl dgst -sha256 -sign`).

Exit: 0 valid, 1 invalid (SIGNATURE_INVALID), 2 usage, I/O or key error.
";

/// `plugin-warden envelope --help`.
pub const ENVELOPE: &str = "\
Usage: plugin-warden envelope --manifest <plugin.json> <file>

Prints the exact bytes a plugin signature covers (format v1, ASCII):
  plugin-warden/signature/v1
  manifest-sha256 <hex SHA-256 of the manifest's canonical JSON>
  code-sha256 <hex SHA-256 of the file>
each line ending in a newline. `plugin-warden sign` signs these bytes; to sign them elsewhere:
  plugin-warden envelope --manifest plugin.json bundle.js > env.txt
  openssl dgst -sha256 -sign key.pem -out bundle.js.sig env.txt
(`verify` and the browser SDK accept DER ECDSA signatures as well as raw r||s.)

Exit: 0, or 2 usage or I/O error (including a manifest that is not JSON).
";

/// `plugin-warden csp --help`.
pub const CSP: &str = "\
Usage: plugin-warden csp <plugin.json|plugin-dir>... [--nonce <base64>] [--report-only]
                         [--report-to <url>]

Prints the Content-Security-Policy for a host page that mounts these plugins: each plugin's
entry.src origin becomes a frame-src source and each `network` origin a connect-src source
(deduplicated, sorted). Without --nonce a fresh 128-bit nonce is drawn from the operating
system and printed on stderr as `nonce: <base64>`; with --nonce that value is used (standard
base64 of at least 16 bytes).

With --report-only or --report-to the output is header lines instead of the bare policy:
`Content-Security-Policy-Report-Only: …` (with --report-only; else `Content-Security-Policy:`)
and, with --report-to, the policy ends in `report-uri <url>; report-to csp-endpoint` and a
second line `Reporting-Endpoints: csp-endpoint=\"<url>\"` follows. The URL must be https: (or
http: on a loopback host).

Exit: 0, 1 when a manifest is invalid, 2 usage or I/O error.
";
