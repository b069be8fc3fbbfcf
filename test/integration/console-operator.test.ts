/**
 * An operator in a real browser (Debian's headless Chromium, playwright-core): signs in with an
 * operator token, sees on the dashboard that a mailbox was put on hold (for real: a burst to
 * too many domains), follows the link to Holds, finds the mailbox, releases it with the
 * keyboard, and sees it gone from the holds and its held message back in the queue. Locators
 * are roles and labels, so the page's accessibility is tested with it; no script, nothing external.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { browserSignIn } from '../helpers/console.ts';
import { webPort } from '../helpers/api.ts';
import { HOLD_AFTER_3_DOMAINS, holdMailbox } from '../helpers/held.ts';

let s: TestServer;
let browser: Browser;
let opToken: string;
let heldId: string;

before(async () => {
  s = await startTestServer({ containment: HOLD_AFTER_3_DOMAINS });
  await s.addMailbox('alice@example.com', 'alice-secret-1', 'acme');
  await s.admin.clearLimit('mailbox', '*');
  heldId = await holdMailbox(s, 'alice@example.com', 'alice-secret-1');
  opToken = (await s.admin.addToken('ops', { operator: true })).token;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});
after(async () => {
  await browser?.close();
  await s?.close();
});

test('an operator finds the held mailbox from the dashboard and releases it; its held message goes back to the queue', async () => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  try {
    await browserSignIn(page, s, { token: opToken });
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Dashboard');
    // the dashboard says a mailbox is on hold, and who
    const heldSection = page.getByRole('heading', { name: 'Held mailboxes and sites' });
    await heldSection.waitFor();
    const main = page.getByRole('main');
    assert.match(await main.innerText(), /1\s+mailboxes on hold/);
    assert.match(await main.innerText(), /On hold: alice@example\.com\./);
    const signals = page.getByRole('table', { name: 'Latest holds and bans, newest first' });
    assert.match(
      await signals.getByRole('row').filter({ hasText: 'mailbox on hold' }).innerText(),
      /alice@example\.com\s+acme\s+4 recipient domains this hour/,
    );
    await page.getByRole('link', { name: 'Review the holds' }).click();
    await page.waitForURL(/\/console\/holds$/);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Holds');
    // the mailbox, why, and what it kept back
    const mailboxes = page.getByRole('table', { name: 'Mailboxes on hold' });
    const row = mailboxes.getByRole('row').filter({ hasText: 'alice@example.com' });
    assert.equal(await row.count(), 1);
    const kept = (await s.server.store.queue.list({ state: 'held', authUser: 'alice@example.com' })).length;
    assert.ok(kept >= 1);
    assert.match(await row.innerText(), new RegExp(`alice@example\\.com\\s+acme\\s+4 recipient domains this hour.*\\s+${kept}\\s+0`));
    // release it with the keyboard: focus the button, Enter
    const release = row.getByRole('button', { name: 'Release' });
    await release.focus();
    await page.keyboard.press('Enter');
    await page.waitForLoadState('load');
    await page.getByRole('status').waitFor();
    assert.equal(
      await page.getByRole('status').innerText(),
      `alice@example.com released: ${kept} held message${kept === 1 ? '' : 's'} sent on.`,
    );
    assert.equal(await mailboxes.count(), 0, 'no table of held mailboxes any more');
    assert.match(await page.getByRole('main').innerText(), /No mailbox is on hold\./);
    assert.equal((await s.server.store.mailboxes.get('alice@example.com'))!.heldSince, null);
    // its message was released: the queue shows it waiting, not held
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Queue' }).click();
    await page.getByLabel('State').selectOption('held');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/state=held/);
    assert.match(await page.getByRole('main').innerText(), /No message in the queue matches\./);
    await page.getByLabel('State').selectOption('queued');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/state=queued/);
    const message = page.getByRole('table', { name: 'Messages in the queue' }).getByRole('row').filter({ hasText: heldId });
    assert.match(await message.innerText(), /queued/);
    assert.equal((await s.server.store.queue.get(heldId))!.state, 'queued');
    assert.ok(
      requests.every((u) => u.startsWith(`https://127.0.0.1:${webPort(s)}/`)),
      'nothing external',
    );
    assert.equal(await page.locator('script').count(), 0);
  } finally {
    await context.close();
  }
});

test('"where is my mail?": from the dashboard an operator types the recipient, opens the message and reads its timeline', async () => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  try {
    await browserSignIn(page, s, { token: opToken });
    await page.getByLabel(/Where is my mail\?/).fill('Victim9@D9.test');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/messages\?/);
    const results = page.getByRole('main').getByRole('table');
    const row = results.getByRole('row').filter({ hasText: 'victim9@d9.test' });
    assert.equal(await row.count(), 1, await page.getByRole('main').innerText());
    await row.getByRole('link').first().click();
    await page.waitForURL(new RegExp(`/console/messages/${heldId}$`));
    const text = await page.getByRole('main').innerText();
    assert.equal(await page.getByLabel('Queue id, to copy').inputValue(), heldId, 'the whole queue id in a field to copy from');
    assert.match(text, /Sent by\s+the login alice@example\.com/);
    assert.match(text, /Timeline/);
    assert.match(text, /\bheld\b/, 'the timeline says it was held');
    assert.match(text, /\breleased\b/, 'and released by the operator in the first test');
  } finally {
    await context.close();
  }
});
