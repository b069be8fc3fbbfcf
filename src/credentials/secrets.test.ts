import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createSecretBox, loadOrCreateKey } from './secrets.ts';

test('seal and open round-trip; every seal differs; no plaintext in the sealed value', () => {
  const box = createSecretBox(randomBytes(32));
  const a = box.seal('relay-pässword');
  assert.notEqual(a, box.seal('relay-pässword'));
  assert.doesNotMatch(a, /relay/);
  assert.equal(box.open(a), 'relay-pässword');
});

test('a wrong key or a tampered value fails to open', () => {
  const sealed = createSecretBox(randomBytes(32)).seal('secret');
  assert.throws(() => createSecretBox(randomBytes(32)).open(sealed));
  const box = createSecretBox(randomBytes(32));
  const s = box.seal('secret');
  const raw = Buffer.from(s.slice(3), 'base64');
  raw[raw.length - 1] ^= 1;
  assert.throws(() => box.open(`v1:${raw.toString('base64')}`));
  assert.throws(() => box.open('plain text'), /not a sealed secret/);
});

test('the key file is created once with mode 0600 and read back the same', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-secrets-'));
  try {
    const file = path.join(dir, 'sub', 'secrets.key');
    const k1 = loadOrCreateKey(file);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(loadOrCreateKey(file), k1);
    fs.writeFileSync(file, 'short');
    assert.throws(() => loadOrCreateKey(file), /32-byte/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
