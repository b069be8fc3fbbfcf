/**
 * Screenshots of every console page, for judging the layout by eye: each page of each role
 * (operator, customer token, mailbox user), the sign-in page and the confirmation pages, at
 * 360, 768, 1280 and 1920 px wide, in the light and the dark scheme, full page. A seeded server
 * on loopback (the same seed as the accessibility test) serves them; Debian's headless Chromium
 * draws them. The PNGs go to a temporary folder (or the one given); nothing is committed.
 *
 *   node bin/run-ts.js scripts/console-screenshots.ts [OUT_DIR] [--only=SUBSTRING]
 *
 * Prints each page's height at each width (a page that grows very tall on a phone is suspect).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { seedConsole } from '../test/helpers/console-seed.ts';
import { browserSignIn } from '../test/helpers/console.ts';
import { webPort } from '../test/helpers/api.ts';

const WIDTHS = [360, 768, 1280, 1920];
const SCHEMES = ['light', 'dark'] as const;

const args = process.argv.slice(2);
const only = args.find((a) => a.startsWith('--only='))?.slice(7);
const out = args.find((a) => !a.startsWith('--')) ?? fs.mkdtempSync(path.join(os.tmpdir(), 'postern-console-screens-'));
fs.mkdirSync(out, { recursive: true });

const slug = (p: string) =>
  (p.replace(/^\/console\/?/, '') || 'home')
    .replace(/%40/g, '@')
    .replace(/[^A-Za-z0-9@.-]+/g, '_')
    .slice(0, 60);

const seeded = await seedConsole();
const base = `https://127.0.0.1:${webPort(seeded.lab.s)}`;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const heights = new Map<string, number[]>();
let shots = 0;

async function shoot(page: Page, name: string, width: number, scheme: string): Promise<void> {
  const file = path.join(out, `${name}-${width}-${scheme}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const h = (await page.evaluate('document.documentElement.scrollHeight')) as number;
  (heights.get(name) ?? heights.set(name, []).get(name)!).push(h);
  shots++;
}

/** The queue's Delete… of the first message: the confirmation page (a POST, reached by clicking as a user does). */
async function queueConfirmation(page: Page): Promise<void> {
  await page.goto(`${base}/console/queue`);
  await page.locator('details.menu-actions summary').first().click();
  await Promise.all([
    page.waitForURL(/\/console\/queue\/[^/]+\/delete$/),
    page
      .getByRole('button', { name: /^Delete…/ })
      .first()
      .click(),
  ]);
}

try {
  for (const scheme of SCHEMES) {
    for (const width of WIDTHS) {
      const context = await browser.newContext({ ignoreHTTPSErrors: true, colorScheme: scheme, viewport: { width, height: 900 } });
      const page = await context.newPage();
      if (!only || 'login'.includes(only)) {
        await page.goto(`${base}/console/login`);
        await shoot(page, 'signed-out-login', width, scheme);
      }
      for (const r of seeded.roles) {
        await context.clearCookies();
        await browserSignIn(page, seeded.lab.s, r.cred);
        const pages =
          r.role === 'operator'
            ? [...r.pages, '/console/mailboxes/mallory%40example.com/remove', `/console/webhooks/${seeded.hookId}/remove`]
            : r.pages;
        for (const p of pages) {
          const name = `${r.role}-${slug(p)}`;
          if (only && !name.includes(only)) continue;
          await page.goto(base + p);
          await shoot(page, name, width, scheme);
        }
        if (r.role === 'operator' && (!only || 'operator-queue-delete-confirm'.includes(only))) {
          await queueConfirmation(page);
          await shoot(page, 'operator-queue-delete-confirm', width, scheme);
        }
      }
      await context.close();
    }
  }
} finally {
  await browser.close();
  await seeded.lab.close();
}

console.log(`${shots} screenshots in ${out}`);
console.log(`page heights in px at ${WIDTHS.join(' / ')} wide (light, then dark):`);
for (const [name, h] of heights) console.log(`  ${name.padEnd(48)} ${h.join(' ')}`);
