/**
 * The settings page in a real browser: Debian's headless Chromium driven by playwright-core, at
 * phone and desktop widths, asserting what a person sees: the server, ports and security, the
 * user name, why port 25 may not work, the profile download; no horizontal scrolling on a
 * phone, readable text, labelled controls, no external resource, no script.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { webPort } from '../helpers/api.ts';

let s: TestServer;
let bare: TestServer;
let browser: Browser;

before(async () => {
  s = await startTestServer({
    listeners: [
      { role: 'submissions', port: 0, host: '127.0.0.1' },
      { role: 'submission', port: 0, host: '127.0.0.1' },
    ],
    clients: {
      host: 'smtp.provider.test',
      provider: 'Provider Mail',
      incoming: [{ protocol: 'imap', host: 'imap.provider.test', port: 993, security: 'SSL/TLS' }],
    },
  });
  await s.addMailbox('alice@example.com', 'alice-secret-1');
  bare = await startTestServer({ listeners: [{ role: 'submission', port: 0, host: '127.0.0.1' }] });
  await bare.addMailbox('bob@example.org', 'bob-secret-11');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});
after(async () => {
  await browser?.close();
  await s?.close();
  await bare?.close();
});

for (const [label, viewport] of [
  ['phone', { width: 360, height: 740 }],
  ['desktop', { width: 1280, height: 800 }],
] as const) {
  test(`settings page on a ${label}: what to type, why not port 25, the profile; nothing off-screen, nothing external`, async () => {
    const context = await browser.newContext({
      viewport,
      ignoreHTTPSErrors: true,
      isMobile: label === 'phone',
      hasTouch: label === 'phone',
    });
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const implicitPort = s.server.listeners.find((l) => l.config.role === 'submissions')!.address()!.port;
    const starttlsPort = s.server.listeners.find((l) => l.config.role === 'submission')!.address()!.port;
    const res = await page.goto(`https://127.0.0.1:${webPort(s)}/settings?domain=example.com`);
    assert.equal(res?.status(), 200);
    assert.equal(await page.title(), 'Mail settings for example.com');
    assert.equal(await page.locator('h1').innerText(), 'Mail settings for example.com');
    const text = await page.locator('main').innerText();
    assert.match(text, /Outgoing mail \(SMTP\)/);
    assert.match(text, new RegExp(`Server\\s+smtp\\.provider\\.test`));
    assert.match(text, new RegExp(`Port\\s+${implicitPort}`));
    assert.match(text, /Connection security\s+SSL\/TLS/);
    assert.match(text, /User name\s+your full email address/);
    assert.match(text, new RegExp(`use the same settings with port ${starttlsPort} and STARTTLS`));
    assert.match(text, /Why not port 25\?/);
    assert.match(text, /block port 25 so that infected computers cannot send spam/);
    assert.match(text, /imap\.provider\.test/);
    assert.match(text, new RegExp(`Test-NetConnection smtp\\.provider\\.test -Port ${implicitPort}`));
    // readable on a phone: no horizontal scrolling, body text at least 16 px
    const widths = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      inner: window.innerWidth,
      font: parseFloat(getComputedStyle(document.body).fontSize),
    }));
    assert.ok(widths.scroll <= widths.inner, `no horizontal scroll (${widths.scroll} > ${widths.inner})`);
    assert.ok(widths.font >= 16);
    // the profile form: a labelled e-mail field and a large enough button
    const input = page.getByLabel('Your email address');
    assert.equal(await input.getAttribute('type'), 'email');
    const button = page.getByRole('button', { name: 'Download the profile' });
    const box = (await button.boundingBox())!;
    assert.ok(box.height >= 44, `a touch target of at least 44 px (${box.height})`);
    await input.fill('alice@example.com');
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    assert.equal(download.suggestedFilename(), 'example.com.mobileconfig');
    // nothing but the page itself was fetched, and no script runs on it
    assert.deepEqual(
      requests.filter((u) => !u.startsWith(`https://127.0.0.1:${webPort(s)}/`)),
      [],
    );
    assert.equal(await page.locator('script').count(), 0);
    await context.close();
  });
}

test('the page for a domain of a provider without an incoming server: no profile offered; and 404 for other names', async () => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const res = await page.goto(`https://127.0.0.1:${webPort(bare)}/settings?domain=example.org`);
  assert.equal(res?.status(), 200);
  const text = await page.locator('main').innerText();
  assert.doesNotMatch(text, /Download the profile|Incoming mail/);
  const missing = await page.goto(`https://127.0.0.1:${webPort(bare)}/settings?domain=nosuch.test`);
  assert.equal(missing?.status(), 404);
  assert.equal(await page.locator('h1').innerText(), 'Not found');
  await context.close();
});
