// A host-approved script (loaded by host.loadScript into the host page, with SRI and a nonce).
window.approvedScriptRuns = (window.approvedScriptRuns || 0) + 1;
