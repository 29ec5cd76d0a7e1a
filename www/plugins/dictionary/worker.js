// A worker plugin that offers one function to other plugins (manifest `exposes`): `define`.
// The host tells it who is calling (`caller`, the true calling plugin), never the arguments.
const sdk = await pluginWarden.connect();
const WORDS = {
  warden: 'one who guards; here, the host that mediates every plugin call',
  sandbox: 'a place where code may play without reaching the house',
};
sdk.plugins.handle('define', ({ word }, caller) => {
  const meaning = WORDS[String(word).toLowerCase()];
  if (!meaning) throw new Error(`no entry for ${word}`);
  return { word, meaning, askedBy: caller.pluginId, answeredBy: `${sdk.pluginId} ${sdk.version}` };
});
