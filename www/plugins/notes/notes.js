// A well-behaved plugin: connects through the client, keeps a note in its storage namespace,
// reads it back and listens for the host's `refresh` event. It must keep working whatever the
// hostile plugin next to it does.
//
// For the end-to-end tests it also exposes `window.notes.run(method, ...args)`, which calls the
// SDK and answers a plain, structured-cloneable `{ ok, value }` or `{ ok: false, error }`.
import { connect } from '/client/index.js';

const out = document.getElementById('out');
const saved = document.getElementById('saved');
const eventsEl = document.getElementById('events');
const received = [];

function plain(e) {
  return { code: e && e.code, message: e && e.message, permission: e && e.permission, name: e && e.name };
}

function onEvent(name) {
  return (data) => {
    received.push({ name, data });
    const li = document.createElement('li');
    li.textContent = `${name}: ${JSON.stringify(data)}`;
    eventsEl.append(li);
  };
}

try {
  const sdk = await connect();
  out.textContent = `Connected to the host as ${sdk.pluginId}.`;
  const note = { text: 'remember the milk', savedBy: sdk.pluginId };
  await sdk.storage.set('note', note);
  const back = await sdk.storage.get('note');
  saved.textContent = `Saved and read back: ${back && back.text}`;
  await sdk.events.on('refresh', onEvent('refresh')).ready;

  window.notes = {
    pluginId: sdk.pluginId,
    grants: sdk.grants,
    received,
    /** Call `sdk.<group>.<name>(...args)`; never throws. */
    async run(method, ...args) {
      const [group, name] = method.split('.');
      try {
        const fn = sdk[group] && sdk[group][name];
        if (typeof fn !== 'function') return { ok: false, error: { code: 'NO_SUCH_METHOD', message: method } };
        return { ok: true, value: await fn(...args) };
      } catch (e) {
        return { ok: false, error: plain(e) };
      }
    },
    /** Subscribe to another host event; resolves once the host confirmed. */
    async listen(name) {
      try {
        await sdk.events.on(name, onEvent(name)).ready;
        return { ok: true };
      } catch (e) {
        return { ok: false, error: plain(e) };
      }
    },
  };
  document.body.dataset.state = 'connected';
} catch (e) {
  out.textContent = `Could not connect: ${e.code} ${e.message}`;
  document.body.dataset.state = 'failed';
}
