import { test } from 'node:test';
import assert from 'node:assert/strict';
import { href, state, table, time, html } from './html.ts';

test('table: values are escaped, nested html is not; an empty table is a sentence', async () => {
  const t = String(await table('Mail', ['From', 'State'], [['<b>x</b>', state('failed')]]));
  assert.match(t, /<caption>Mail<\/caption>/);
  assert.match(t, /<th scope="col">From<\/th>/);
  assert.match(t, /&lt;b&gt;x&lt;\/b&gt;/);
  assert.match(t, /<span class="state bad">failed<\/span>/);
  assert.equal(String(await table('Mail', ['From'], [], 'No mail.')), '<p>No mail.</p>');
  assert.equal(String(await html`${'"\'&'}`), '&quot;&#39;&amp;');
});

test('href encodes the query and leaves out empty values; time is UTC with a datetime attribute', async () => {
  assert.equal(
    href('/queue', { state: 'held', sender: 'a b@x', domain: '', site: undefined }),
    '/console/queue?state=held&sender=a%20b%40x',
  );
  assert.equal(href('/queue'), '/console/queue');
  assert.equal(
    String(await time(Date.parse('2026-01-02T03:04:05.678Z'))),
    '<time datetime="2026-01-02T03:04:05.678Z">2026-01-02 03:04:05 UTC</time>',
  );
  assert.match(String(await time(null)), /never/);
});
