// A remote-UI plugin (worker logic, host-rendered UI): this code runs in the plugin's worker,
// with no DOM and no network; the host draws what it sends with `sdk.ui.render` into a closed
// shadow root, and reports clicks, inputs and submits on `data-action` elements back through
// `sdk.ui.onAction`. Mounted with `{ mode: 'worker', ui: 'shadow' }` and the capability
// `ui:render` (tests/e2e/remote-ui.test.mjs).
//
// The e2e test fills in %ASSETS% (an origin the manifest declares in `assets`) and %ELSEWHERE%
// (one it does not): the images, the style and the link to %ELSEWHERE% must never load.
const ASSETS = '%ASSETS%';
const ELSEWHERE = '%ELSEWHERE%';

const sdk = await pluginWarden.connect();
let count = 0;
let saved = '';

// Plugin-side escaping: the host sanitizes anyway, but text should stay text.
const text = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function view() {
  return `<button data-action="add" value="1">Add one</button>
    <p>Count: ${count}</p>
    <form data-action="save" action="${ELSEWHERE}/submitted">
      <label>Title <input name="title" data-action="title" value="${text(saved)}"></label>
      <label><input type="checkbox" name="done" value="yes" data-action="done"> done</label>
      <button type="submit">Save</button>
    </form>
    <p>Saved: ${text(saved)}</p>
    <img alt="declared" width="8" height="8" src="${ASSETS}/declared.png?n=${count}">
    <img alt="undeclared" width="8" height="8" src="${ELSEWHERE}/undeclared.png">
    <img alt="relative" width="8" height="8" src="/relative.png">
    <p style="background-image: url(${ELSEWHERE}/style.png)">styled elsewhere</p>
    <p style="background-image: url(${ASSETS}/style.png)">styled from the assets</p>
    <a href="${ELSEWHERE}/link">a link elsewhere</a>`;
}

async function show() {
  try {
    await sdk.ui.render(view());
    await sdk.events.emit('rendered', { count });
  } catch (e) {
    await sdk.events.emit('render-failed', { code: e.code, message: e.message });
  }
}

sdk.ui.onAction(async (a) => {
  await sdk.events.emit('action', a);
  if (a.action === 'add') count += Number(a.value);
  else if (a.action === 'save') saved = a.form.title;
  else return; // inputs: nothing to redraw
  await show();
});

await show();
