/**
 * A customer finds a bounced message and reads why, in a real browser (Debian's headless
 * Chromium through playwright-core): alice sends over 587 to an address whose MX answers
 * 550 5.1.1; once tracking says it failed, she signs in to the console with her mailbox login,
 * opens Sent mail, searches by keyboard, opens the message and reads the remote server's reply
 * and what it means. Another customer's message is in none of her lists and its page is 404.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser } from 'playwright-core';
import { startDeliveryLab, until, type DeliveryLab } from '../helpers/delivery-lab.ts';
import { browserSignIn, createConsoleClient } from '../helpers/console.ts';
import { webPort } from '../helpers/api.ts';
import type { FakeZone } from '../helpers/fake-dns.ts';

const ZONE: FakeZone = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx1.remote.test' }] },
  'mx1.remote.test': { A: ['127.0.0.2'] },
  'example.com': { MX: [{ preference: 10, exchange: 'mx.example.com' }] },
  'mx.example.com': { A: ['127.0.0.4'] },
};
const REFUSAL = '5.1.1 <nobody@remote.test>: no such user here';

let lab: DeliveryLab;
let browser: Browser;
let bouncedId: string;
let otherId: string;

const tracked = (id: string) => lab.s.server.store.tracking.get(id);

before(async () => {
  lab = await startDeliveryLab(ZONE);
  await lab.mx('127.0.0.2', { rcpt: (c) => (c.to === 'nobody@remote.test' ? { code: 550, text: REFUSAL } : 'accept') });
  await lab.mx('127.0.0.4', {}); // alice's own MX takes the bounce
  await lab.s.addMailbox('eve@beta.test', 'eve-secret-11', 'beta');
  bouncedId = await lab.submit({ to: 'nobody@remote.test', subject: 'Quarterly report' });
  await lab.submit({ to: 'friend@remote.test', subject: 'Lunch on Friday' });
  otherId = await lab.submitAs('eve@beta.test', 'eve-secret-11', { to: 'partner@remote.test', subject: 'Beta secret plans' });
  await until(async () => (await tracked(bouncedId))?.status === 'failed', 15_000, 'the message failed in tracking');
  await until(async () => (await tracked(otherId))?.status === 'delivered', 15_000, "beta's message delivered");
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
  await lab?.close();
});

test('a customer finds a bounced message in Sent mail by keyboard and reads why it bounced', async () => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const external: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(`https://127.0.0.1:${webPort(lab.s)}/`)) external.push(r.url());
  });
  try {
    await browserSignIn(page, lab.s, { login: 'alice@example.com', password: 'alice-secret-1' });
    assert.equal(await page.locator('h1').innerText(), 'Your mailbox');
    const recent = await page.getByRole('table', { name: /Your messages that failed/ }).innerText();
    assert.match(recent, /Quarterly report/, 'the overview lists the bounce');

    // to Sent mail and into the search box with the keyboard only
    const nav = page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Sent mail' });
    await nav.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/messages$/);
    assert.equal(await page.locator('h1').innerText(), 'Sent mail');
    const box = page.getByLabel(/^Search/);
    await box.focus();
    await page.keyboard.type('nobody@remote.test');
    await page.keyboard.press('Enter');
    await page.waitForURL(/search=nobody%40remote\.test/);
    assert.match(await page.getByRole('status').first().innerText(), /recipient is nobody@remote\.test/);
    const results = page.getByRole('table', { name: 'Messages, newest first' });
    const text = await results.innerText();
    assert.match(text, /Quarterly report/);
    assert.match(text, /failed/);
    assert.match(text, /550 5\.1\.1/, 'the list shows the reason, abbreviated');
    assert.doesNotMatch(text, /Lunch on Friday/, 'only what was searched for');

    // open it with the keyboard: Tab until the link has focus
    const link = results.getByRole('link', { name: 'Quarterly report' });
    await page.getByRole('button', { name: 'Search' }).focus();
    for (let i = 0; i < 10 && !(await link.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
    assert.ok(await link.evaluate((el) => el === document.activeElement), 'the message link is reached with Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`/console/messages/${bouncedId}$`));
    assert.equal(await page.locator('h1').innerText(), 'Message: Quarterly report');
    const outcome = page.getByRole('table', { name: 'What happened to each recipient' });
    const row = await outcome.getByRole('row', { name: /nobody@remote\.test/ }).innerText();
    assert.match(row, /bounced/);
    assert.ok(row.includes(`550 ${REFUSAL}`), `the remote reply in full: ${row}`);
    assert.match(row, /The recipient's server said the mailbox does not exist/);
    assert.match(row, /mx1\.remote\.test/);
    const timeline = await page.getByRole('table', { name: 'Every event, oldest first' }).innerText();
    assert.match(timeline, /accepted[\s\S]*failed[\s\S]*bounce sent to the sender/);
    assert.match(await page.locator('main').innerText(), /no longer in the queue/);
    const facts = await page.locator('dl.facts').innerText();
    assert.match(facts, /Sent by\s+the login alice@example\.com/);
    assert.doesNotMatch(facts, /Client address|Listener/, 'operator-only facts are not shown to a customer');
    assert.deepEqual(external, [], 'nothing loaded from elsewhere');
  } finally {
    await context.close();
  }
});

test("another customer's message is in none of the lists and its page is 404, in the browser and over HTTP", async () => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  try {
    await browserSignIn(page, lab.s, { login: 'alice@example.com', password: 'alice-secret-1' });
    const res = await page.goto(`https://127.0.0.1:${webPort(lab.s)}/console/messages/${otherId}`);
    assert.equal(res?.status(), 404);
    assert.equal(await page.locator('h1').innerText(), 'Not found');
    assert.doesNotMatch(await page.content(), /Beta secret plans|partner@remote\.test/);
  } finally {
    await context.close();
  }
  const token = (await lab.s.admin.addToken('acme-panel', { customer: 'acme' })).token;
  for (const cred of [{ login: 'alice@example.com', password: 'alice-secret-1' }, { token }]) {
    const c = createConsoleClient(lab.s);
    await c.signIn(cred);
    const list = await c.get('/console/messages');
    assert.equal(list.status, 200);
    assert.match(list.text, /Quarterly report/);
    assert.doesNotMatch(list.text, /Beta secret plans|partner@remote\.test/);
    for (const q of [`search=${otherId}`, 'search=partner%40remote.test', 'recipient=partner%40remote.test', 'customer=beta']) {
      const a = await c.get(`/console/messages?${q}`);
      assert.doesNotMatch(a.text, /Beta secret plans/, `${q} finds nothing of beta`);
    }
    const other = await c.get(`/console/messages/${otherId}`);
    assert.equal(other.status, 404);
    assert.doesNotMatch(other.text, /Beta secret plans|partner@remote\.test|eve@beta\.test/);
  }
});
