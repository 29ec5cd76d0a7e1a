// A plugin that shows, live, what it may do: sdk.permissions.onChange redraws its list whenever
// the host grants or revokes (the inspector's buttons) or the user changes. It counts its runs
// in storage and shows its version and the one an update replaced (sdk.previousVersion), so an
// update through the host's consent dialog visibly keeps its data.
import { connect } from '/client/index.js';

const out = document.getElementById('out');
const version = document.getElementById('version');
const list = document.getElementById('grants');
const changes = document.getElementById('changes');

function draw(granted) {
  list.replaceChildren(...granted.map((g) => {
    const li = document.createElement('li');
    li.textContent = g;
    return li;
  }));
  document.body.dataset.grants = granted.join(' ');
}

try {
  const sdk = await connect();
  const runs = ((await sdk.storage.get('runs')) ?? 0) + 1;
  await sdk.storage.set('runs', runs);
  out.textContent = `Connected as ${sdk.pluginId}, run ${runs} (runs are counted in my storage).`;
  version.textContent = sdk.previousVersion
    ? `Version ${sdk.version}, updated from ${sdk.previousVersion}: my data came along.`
    : `Version ${sdk.version}.`;
  draw(sdk.grants);
  let seen = 0;
  sdk.permissions.onChange((granted) => {
    seen += 1;
    draw(granted);
    changes.textContent = `The host changed my permissions (${seen}×): now ${granted.join(', ')}.`;
  });
  document.body.dataset.state = 'connected';
  document.body.dataset.version = sdk.version;
} catch (e) {
  out.textContent = `Could not connect: ${e.code} ${e.message}`;
  document.body.dataset.state = 'failed';
}
