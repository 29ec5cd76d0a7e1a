// A worker plugin that calls another plugin (manifest `consumes`): when the host's "Look up"
// button emits `lookup`, it asks demo-dictionary to define a word and shows the answer.
const sdk = await pluginWarden.connect();
sdk.events.on('lookup', async ({ word }) => {
  try {
    const d = await sdk.plugins.call('demo-dictionary', 'define', { word });
    await sdk.ui.notify(`"${d.word}": ${d.meaning} (answered by ${d.answeredBy} for ${d.askedBy})`, 'success');
  } catch (e) {
    await sdk.ui.notify(`lookup refused: ${e.code}`, 'error');
  }
});
