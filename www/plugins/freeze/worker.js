// A worker plugin that freezes when the host asks (the demo's "Freeze it" button emits
// `freeze`): an endless loop, so it stops answering the host's heartbeat. The host fails it
// with TIMEOUT within limits.unresponsiveAfterMs and terminates the worker with its frame.
const sdk = await pluginWarden.connect();
sdk.events.on('freeze', () => {
  for (;;) { /* never returns: no more pongs */ }
});
await sdk.ui.notify('running; press "Freeze it" to make me hang');
