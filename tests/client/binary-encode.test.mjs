// src/web/binary.js's encoder, in Node: its fast path (plain JSON, no replacer) must give the
// same text as the replacer path for everything it accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pwEncodeInto } from '../../src/web/binary.js';

test('a toJSON that returns a typed array still gives binary data, not {"0":…}', () => {
  const buffers = [];
  const text = pwEncodeInto({ x: { toJSON: () => new Uint8Array([9, 8]) } }, false, buffers);
  assert.equal(buffers.length, 1);
  assert.deepEqual(JSON.parse(text).x, { '$pw:binary': 0, type: 'Uint8Array', bytes: 2 });
});

test('plain JSON takes the fast path and reads the same', () => {
  const buffers = [];
  const v = { a: [1, 'two', null, { b: true }], c: 'x' };
  assert.equal(pwEncodeInto(v, false, buffers), JSON.stringify(v));
  assert.equal(buffers.length, 0);
});
