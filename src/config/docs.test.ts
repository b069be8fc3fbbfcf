import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { renderConfigReference } from './index.ts';

test('docs/configuration.md is the current rendering of the schema (npm run docs:config)', () => {
  const file = fs.readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  assert.equal(file, renderConfigReference());
});
