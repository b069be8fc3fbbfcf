/**
 * The console's accessibility, checked in a real browser (Debian's headless Chromium through
 * playwright-core) on every page of every role, in the light and the dark colour scheme, with
 * seeded data so the pages have real rows (a bounce, a held mailbox, a ban, a suppression, a
 * webhook with a delivery, limits, DKIM keys). For each page:
 *   1. one h1, and headings that never skip a level downward;
 *   2. every visible form control labelled; every button and link with a name;
 *   3. every table with a caption (or aria-label) and th scope=col / scope=row headers;
 *   4. text contrast (WCAG: 4.5:1, 3:1 for large text) against the effective background, and
 *      the focus outline at least 3:1 against what is behind it;
 *   5. from the top, Tab reaches "Skip to content" first, it shows, and Enter on it takes the
 *      keyboard to main; a sample of focusable elements each shows a focus indicator when
 *      reached with Tab;
 *   6. no style attribute, no script element, no request but to the console's own origin;
 *   7. at 360 px wide, no horizontal scroll of the document (wide tables scroll in their own
 *      labelled, focusable region);
 *   8. the layout at 1280 px (and ids at every width): no id (.id) wraps onto a second line, no
 *      element sticks out of the region that holds it (a table wider than its scroll region,
 *      a cell's content wider than its cell), row actions one line high, the header one row.
 * Every fault names the page, the scheme and the element, so a failure says what to fix.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from 'playwright-core';
import { seedConsole, type SeededConsole } from '../helpers/console-seed.ts';
import { browserSignIn, type Credentials } from '../helpers/console.ts';
import { webPort } from '../helpers/api.ts';
import { base32Decode, createSecretBox, loadOrCreateKey, newTotpSecret, totp } from '../../src/credentials/index.ts';
import { secretsKeyFile } from '../../src/config/index.ts';

const SCHEMES = ['light', 'dark'] as const;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };
/** Focusable elements checked for a focus indicator on each page (spread over the page). */
const FOCUS_SAMPLE = 10;

let seeded: SeededConsole;
let lab: SeededConsole['lab'];
let browser: Browser;

before(async () => {
  seeded = await seedConsole();
  lab = seeded.lab;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
  await lab?.close();
});

// ---- in the page: plain JavaScript as text, so nothing the TypeScript compiler adds reaches the browser ----

const HELPERS = String.raw`
const desc = (el) => {
  if (!el || el.nodeType !== 1) return String(el);
  let s = el.tagName.toLowerCase();
  if (el.id) s += '#' + el.id;
  const cls = (el.getAttribute('class') || '').trim();
  if (cls) s += '.' + cls.split(/\s+/).join('.');
  for (const a of ['name', 'type', 'href', 'role']) if (el.hasAttribute(a)) s += '[' + a + '=' + el.getAttribute(a) + ']';
  const t = (el.textContent || '').trim().replace(/\s+/g, ' ');
  return s + (t ? ' "' + (t.length > 50 ? t.slice(0, 49) + '…' : t) + '"' : '');
};
/** Inside a closed details element (and not its summary): not shown, whatever its box says. */
const inClosedDetails = (el) => {
  for (let d = el.closest('details:not([open])'); d; d = d.parentElement ? d.parentElement.closest('details:not([open])') : null) {
    const summary = d.querySelector(':scope > summary');
    if (!(summary && summary.contains(el))) return true;
  }
  return false;
};
const shown = (el) => {
  if (inClosedDetails(el)) return false;
  const cs = getComputedStyle(el);
  if (cs.visibility !== 'visible' || cs.display === 'none') return false;
  if (el.closest('[hidden]')) return false;
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0;
};
/** Visually hidden on purpose (the .vh pattern: clipped to nothing), still read by screen readers. */
const clippedAway = (el) => {
  for (let e = el; e; e = e.parentElement) {
    const cs = getComputedStyle(e);
    if (cs.clipPath !== 'none' || cs.clip !== 'auto') { const r = e.getBoundingClientRect(); if (r.width <= 1 || r.height <= 1) return true; }
  }
  return false;
};
const rgba = (c) => {
  const m = /^rgba?\(([^)]+)\)$/.exec(c.trim());
  if (!m) return null;
  const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
};
const over = (top, below) => { const a = top[3]; return [0, 1, 2].map((i) => top[i] * a + below[i] * (1 - a)).concat(1); };
const pageBackground = () => (matchMedia('(prefers-color-scheme: dark)').matches ? [18, 18, 18, 1] : [255, 255, 255, 1]);
/** The colour behind an element: its own and its ancestors' background colours, composed down to the first opaque one. */
const backgroundOf = (el) => {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c === null) return null;
    if (c[3] > 0) layers.push(c);
    if (c[3] >= 1) break;
  }
  let bg = layers.length && layers[layers.length - 1][3] >= 1 ? layers.pop() : pageBackground();
  while (layers.length) bg = over(layers.pop(), bg);
  return bg;
};
const luminance = (c) => {
  const ch = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
};
const ratio = (a, b) => { const x = luminance(a); const y = luminance(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
const hex = (c) => '#' + c.slice(0, 3).map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
const FOCUSABLE = 'a[href], area[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';
const focusables = () => [...document.querySelectorAll(FOCUSABLE)].filter((el) => shown(el) && el.tabIndex >= 0);
const nameOf = (el) => {
  const by = el.getAttribute('aria-labelledby');
  if (by) { const t = by.split(/\s+/).map((id) => (document.getElementById(id) || {}).textContent || '').join(' ').trim(); if (t) return t; }
  const l = (el.getAttribute('aria-label') || '').trim();
  if (l) return l;
  return '';
};
`;

/** Checks 1-4 and 6 (markup), in the page: a list of faults. */
const AUDIT = String.raw`(() => {
${HELPERS}
  const faults = [];
  // 1. headings
  const hs = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')];
  const h1 = hs.filter((h) => h.tagName === 'H1');
  if (h1.length !== 1) faults.push(h1.length + ' h1 elements, not exactly one: ' + h1.map(desc).join(', '));
  let prev = 0;
  for (const h of hs) {
    const level = Number(h.tagName[1]);
    if (level > prev + 1) faults.push('heading skips a level (' + (prev ? 'h' + prev : 'no heading') + ' then h' + level + '): ' + desc(h));
    prev = level;
  }
  // 2. labels and names
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || !shown(el)) continue;
    const label = nameOf(el) || [...(el.labels || [])].map((l) => l.textContent.trim()).join(' ').trim();
    if (!label) faults.push('form control without a label: ' + desc(el));
  }
  for (const el of document.querySelectorAll('button, a[href], [role=button], [role=link]')) {
    const name = nameOf(el) || (el.textContent || '').trim() || [...el.querySelectorAll('img[alt]')].map((i) => i.alt).join('').trim();
    if (!name) faults.push((el.tagName === 'A' ? 'link' : 'button') + ' without an accessible name: ' + desc(el));
  }
  // 3. tables
  for (const t of document.querySelectorAll('table')) {
    const cap = t.querySelector(':scope > caption');
    const label = (cap && cap.textContent.trim()) || nameOf(t);
    if (!label) faults.push('table without a caption or aria-label: ' + desc(t).slice(0, 80));
    const what = 'table "' + (label || '?') + '"';
    if (!t.querySelector('th[scope=col]')) faults.push(what + ' has no column headers (th scope=col)');
    for (const th of t.querySelectorAll('th')) {
      const scope = th.getAttribute('scope');
      if (scope !== 'col' && scope !== 'row') faults.push(what + ': header cell without scope=col or scope=row: ' + desc(th));
    }
    for (const td of t.querySelectorAll('thead td')) faults.push(what + ': a td in the header row: ' + desc(td));
  }
  // 4. text contrast
  let texts = 0;
  for (const el of document.body.querySelectorAll('*')) {
    if (['SCRIPT', 'STYLE', 'OPTION', 'OPTGROUP', 'TITLE'].includes(el.tagName)) continue;
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    if (!shown(el) || clippedAway(el)) continue;
    const cs = getComputedStyle(el);
    const fg = rgba(cs.color);
    const bg = backgroundOf(el);
    if (!fg || !bg) { faults.push('colour not understood (' + cs.color + ' on ' + cs.backgroundColor + '): ' + desc(el)); continue; }
    const size = parseFloat(cs.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
    const want = large ? 3 : 4.5;
    const got = ratio(over(fg, bg), bg);
    texts++;
    if (got < want) faults.push('text contrast ' + got.toFixed(2) + ':1 < ' + want + ':1 (' + hex(fg) + ' on ' + hex(bg) + ', ' + size + 'px): ' + desc(el));
  }
  // 6. no inline style, no script
  for (const el of document.querySelectorAll('[style]')) faults.push('inline style attribute: ' + desc(el) + ' style="' + el.getAttribute('style') + '"');
  for (const el of document.querySelectorAll('script')) faults.push('script element: ' + desc(el));
  if (texts < 5) faults.push('only ' + texts + ' pieces of text were checked for contrast: is the page empty?');
  return faults;
})()`;

/** The focusable elements in document (= Tab) order: how many, and a description of each. */
const FOCUS_LIST = String.raw`(() => {
${HELPERS}
  return focusables().map(desc);
})()`;

/** Focuses focusable number i (programmatically), or blurs everything for -1. */
const focusAt = (i: number) => String.raw`(() => {
${HELPERS}
  if (${i} < 0) { document.activeElement && document.activeElement.blur(); return true; }
  const el = focusables()[${i}];
  el.focus();
  return document.activeElement === el;
})()`;

/** What the focused element shows: is it focusable number i, its focus indicator, the outline's contrast with what is behind it. */
const focusState = (i: number) => String.raw`(() => {
${HELPERS}
  const el = document.activeElement;
  const want = focusables()[${i}];
  const cs = getComputedStyle(el);
  const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2;
  const shadow = cs.boxShadow !== 'none';
  const behind = backgroundOf(el.parentElement || el);
  const oc = rgba(cs.outlineColor);
  return {
    expected: el === want, el: desc(el), want: desc(want), visible: el.matches(':focus-visible') && (outline || shadow),
    style: cs.outlineStyle + ' ' + cs.outlineWidth + ' ' + cs.outlineColor + '; box-shadow ' + cs.boxShadow,
    contrast: outline && oc && behind ? ratio(over(oc, behind), behind) : null, colours: oc && behind ? hex(oc) + ' on ' + hex(behind) : '?',
  };
})()`;

type FocusState = {
  expected: boolean;
  el: string;
  want: string;
  visible: boolean;
  style: string;
  contrast: number | null;
  colours: string;
};

/** Whether focusable number i has the focus. */
const focusIs = (i: number) => String.raw`(() => {
${HELPERS}
  return document.activeElement === focusables()[${i}];
})()`;

const SKIP_STATE = String.raw`(() => {
  const el = document.activeElement;
  const r = el.getBoundingClientRect();
  return {
    isSkip: el.tagName === 'A' && (el.textContent || '').trim() === 'Skip to content' && el.getAttribute('href') === '#main',
    el: el.tagName.toLowerCase() + ' "' + (el.textContent || '').trim().slice(0, 40) + '"',
    inView: r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight,
    box: [r.left, r.top, r.right, r.bottom].map(Math.round).join(','),
  };
})()`;

const IN_MAIN = String.raw`(() => {
  const main = document.querySelector('main');
  const el = document.activeElement;
  const r = main ? main.getBoundingClientRect() : null;
  return { inMain: !!main && main.contains(el), el: el.tagName.toLowerCase() + ' "' + (el.textContent || '').trim().slice(0, 40) + '"', mainInView: !!r && r.top >= -1 && r.top < innerHeight, hash: location.hash };
})()`;

/**
 * 8. The layout: ids on one line (at any width); at a desktop width also nothing wider than the
 * region that holds it, row actions one line high and the header one row. A list of faults.
 */
const LAYOUT = (desktop: boolean) => String.raw`(() => {
${HELPERS}
  const faults = [];
  const lineOf = (el) => parseFloat(getComputedStyle(el).lineHeight) || parseFloat(getComputedStyle(el).fontSize) * 1.5;
  for (const el of document.querySelectorAll('main .id')) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (el.getClientRects().length > 1 || r.height > lineOf(el) * 1.5) faults.push('an id wraps onto ' + Math.round(r.height / lineOf(el)) + ' lines: ' + desc(el));
  }
  if (${desktop}) {
    for (const w of document.querySelectorAll('main .table-wrap')) {
      if (w.scrollWidth > w.clientWidth + 1) faults.push('a table is wider than its region (' + w.scrollWidth + ' > ' + w.clientWidth + ' px): ' + (w.getAttribute('aria-label') || desc(w)));
    }
    for (const td of document.querySelectorAll('main td')) {
      if (td.scrollWidth > td.clientWidth + 1) faults.push('the content of a cell is wider than the cell (' + td.scrollWidth + ' > ' + td.clientWidth + ' px): ' + desc(td));
    }
    for (const cell of document.querySelectorAll('main td:has(> details.menu-actions), main td:has(> form.inline)')) {
      const tops = new Set([...cell.querySelectorAll(':scope > details > summary, :scope > form.inline button')].filter(shown).map((b) => Math.round(b.getBoundingClientRect().top)));
      if (tops.size > 1) faults.push('row actions on ' + tops.size + ' lines: ' + desc(cell));
    }
    const bar = document.querySelector('header .bar');
    const line = bar && [...bar.querySelectorAll('.brand, nav a, .who, button')].filter(shown).map((e) => e.getBoundingClientRect());
    if (line && line.length && Math.max(...line.map((r) => r.bottom)) - Math.min(...line.map((r) => r.top)) > 60) faults.push('the header takes more than one row (brand, navigation, Sign out)');
  }
  return faults;
})()`;

/** Every check of one page; faults are pushed as "PATH [scheme]: what". */
async function checkPage(
  page: Page,
  path: string,
  scheme: string,
  faults: string[],
  o: { status?: number; loaded?: boolean } = {},
): Promise<void> {
  const at = `${path} [${scheme}]`;
  const fault = (what: string) => faults.push(`${at}: ${what}`);
  const focusShown = (f: FocusState) => {
    if (!f.visible) fault(`no visible focus indicator (${f.style}): ${f.el}`);
    else if (f.contrast !== null && f.contrast < 3)
      fault(`focus outline contrast ${f.contrast.toFixed(2)}:1 < 3:1 (${f.colours}): ${f.el}`);
  };
  if (!o.loaded) {
    await page.setViewportSize(DESKTOP);
    const res = await page.goto(`https://127.0.0.1:${webPort(lab.s)}${path}`);
    if (res?.status() !== (o.status ?? 200)) fault(`status ${res?.status()}, not ${o.status ?? 200}`);
  }
  // 1-4 and 6, in the page
  for (const f of (await page.evaluate(AUDIT)) as string[]) fault(f);
  // 8. the layout at a desktop width
  for (const f of (await page.evaluate(LAYOUT(true))) as string[]) fault(`at ${DESKTOP.width}px ${f}`);

  // 5. the skip link: the first Tab stop from the top, shown when focused; Enter takes the keyboard to main.
  // A page that puts the focus somewhere itself (a confirmation's Cancel: autofocus) starts there instead.
  const autofocus = (await page.evaluate(
    `(() => { const a = document.querySelector('[autofocus]'); return a ? { set: true, focused: document.activeElement === a, el: a.tagName + ' ' + a.textContent.trim() } : { set: false } })()`,
  )) as { set: boolean; focused?: boolean; el?: string };
  if (autofocus.set && !autofocus.focused) fault(`the page asks for the focus on ${autofocus.el} (autofocus) but it is not there`);
  await page.evaluate(focusAt(-1));
  await page.evaluate('window.scrollTo(0, 0)');
  await page.keyboard.press('Tab');
  const skip = (await page.evaluate(SKIP_STATE)) as { isSkip: boolean; el: string; inView: boolean; box: string };
  if (autofocus.set) {
    /* the Tab order starts at the autofocused element, as it should */
  } else if (!skip.isSkip) fault(`the first Tab stop is ${skip.el}, not the "Skip to content" link`);
  else {
    if (!skip.inView) fault(`the focused skip link is not inside the viewport (box ${skip.box})`);
    focusShown((await page.evaluate(focusState(0))) as FocusState);
    await page.keyboard.press('Enter');
    let m = (await page.evaluate(IN_MAIN)) as { inMain: boolean; el: string; mainInView: boolean; hash: string };
    if (m.hash !== '#main') fault(`Enter on the skip link did not go to #main (hash ${m.hash || 'none'})`);
    if (!m.mainInView) fault('after the skip link, main is not in view');
    if (!m.inMain) {
      // focus may stay put while the sequential focus starting point moves: the next Tab must land in main
      await page.keyboard.press('Tab');
      m = (await page.evaluate(IN_MAIN)) as typeof m;
      if (!m.inMain) fault(`after Enter on the skip link, Tab goes to ${m.el}, outside main`);
    }
  }

  // 5. a focus indicator on a sample of focusable elements, each reached with Tab from the one before it
  const list = (await page.evaluate(FOCUS_LIST)) as string[];
  const n = list.length;
  // (the first, the skip link, was checked above, reached with Tab from the top)
  const k = Math.min(FOCUS_SAMPLE - 1, n - 1);
  const picks = [...new Set(Array.from({ length: k }, (_, j) => 1 + Math.floor((j * (n - 1)) / k)))];
  for (const i of picks) {
    await page.evaluate(focusAt(i - 1));
    await page.keyboard.press('Tab');
    // a date field has a Tab stop for each of its parts: Tab on until the focus leaves it
    for (let extra = 0; extra < 4 && (await page.evaluate(focusIs(i - 1))); extra++) await page.keyboard.press('Tab');
    const f = (await page.evaluate(focusState(i))) as FocusState;
    if (!f.expected) {
      fault(`Tab after focusable #${i - 1} (${list[i - 1]}) went to ${f.el}, not to ${f.want}`);
      continue;
    }
    focusShown(f);
  }

  // 7. a phone: no horizontal scroll of the document
  await page.setViewportSize(PHONE);
  const w = (await page.evaluate(
    'const scrolledIn = (e) => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) if (getComputedStyle(a).overflowX !== "visible") return true; return false; }; ({ scroll: document.documentElement.scrollWidth, inner: innerWidth, wide: [...document.querySelectorAll("main *, header *")].filter((e) => e.getBoundingClientRect().right > innerWidth + 1 && !scrolledIn(e)).slice(0, 3).map((e) => e.tagName.toLowerCase() + (e.className ? "." + String(e.className).split(" ").join(".") : "") + " " + Math.round(e.getBoundingClientRect().right) + "px"), text: (() => { const out = []; const tw = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT); let n; while ((n = tw.nextNode()) && out.length < 3) { if (scrolledIn(n)) continue; const r = document.createRange(); r.selectNodeContents(n); const right = r.getBoundingClientRect().right; if (right > innerWidth + 1) out.push("text of " + n.parentElement.tagName.toLowerCase() + " " + Math.round(right) + "px: " + JSON.stringify(n.textContent.slice(0, 40))); } return out; })() })',
  )) as { scroll: number; inner: number; wide: string[]; text: string[] };
  if (w.scroll > w.inner)
    fault(`at ${PHONE.width}px the page scrolls sideways (${w.scroll}px wide; too wide: ${[...w.wide, ...w.text].join(', ') || '?'})`);
  for (const f of (await page.evaluate(LAYOUT(false))) as string[]) fault(`at ${PHONE.width}px ${f}`);
  await page.setViewportSize(DESKTOP);
}

/**
 * Runs `visit` in a new browser context of the scheme, then fails with every fault it found and
 * every request that left the page's origin (`who` names the visitor in those).
 */
async function audit(scheme: (typeof SCHEMES)[number], who: string, visit: (page: Page, faults: string[]) => Promise<void>): Promise<void> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, colorScheme: scheme, viewport: DESKTOP });
  const page = await context.newPage();
  const origin = `https://127.0.0.1:${webPort(lab.s)}/`;
  const external: string[] = [];
  page.on('request', (q) => {
    if (!q.url().startsWith(origin)) external.push(q.url());
  });
  const faults: string[] = [];
  try {
    await visit(page, faults);
  } finally {
    await context.close();
  }
  for (const u of external) faults.push(`[${scheme}] ${who}: a request to another origin: ${u}`);
  assert.deepEqual(faults, [], `${faults.length} accessibility faults:\n${faults.join('\n')}`);
}

for (const scheme of SCHEMES) {
  for (const role of ['operator', 'customer', 'mailbox'] as const) {
    test(`${role} pages in the ${scheme} scheme: headings, labels, tables, contrast, keyboard, no script, a phone's width, the layout`, () =>
      audit(scheme, role, async (page, faults) => {
        const r = seeded.roles.find((x) => x.role === role)!;
        await browserSignIn(page, lab.s, r.cred as Credentials);
        const pages = role === 'operator' ? [...r.pages, '/console/mailboxes/mallory%40example.com/remove'] : r.pages;
        for (const path of pages) await checkPage(page, path, scheme, faults);
        assert.ok(pages.length >= 5);
      }));
  }

  test(`the sign-in page in the ${scheme} scheme, and its answer to a wrong token`, () =>
    audit(scheme, 'signed out', async (page, faults) => {
      await checkPage(page, '/console/login', scheme, faults);
      // the refusal, with its error message (a flash) and the form again
      try {
        await page.getByLabel('API token').fill('pat_not-a-real-token', { timeout: 5000 });
        await Promise.all([
          page.waitForResponse((x) => x.url().endsWith('/console/login') && x.request().method() === 'POST'),
          page.getByRole('button', { name: 'Sign in with the token' }).click(),
        ]);
        await page.getByRole('alert').waitFor();
        await checkPage(page, '/console/login (a wrong token)', scheme, faults, { loaded: true });
      } catch (err) {
        faults.push(
          `/console/login [${scheme}]: could not send a wrong token by the field labelled "API token": ${(err as Error).message.split('\n')[0]}`,
        );
      }
    }));
}

test('a destructive action asks first: the confirmation says what and how many, Cancel has the focus, and Enter on it backs out with nothing deleted', () =>
  audit('light', 'operator', async (page, faults) => {
    await browserSignIn(page, lab.s, { token: seeded.opToken });
    await page.goto(`https://127.0.0.1:${webPort(lab.s)}/console/queue`);
    await page.locator('details.menu-actions summary').first().click();
    await Promise.all([
      page.waitForURL(/\/console\/queue\/[^/]+\/delete$/),
      page
        .getByRole('button', { name: /^Delete…/ })
        .first()
        .click(),
    ]);
    const shown = (await page.evaluate(String.raw`({
    h1: document.querySelector('h1').textContent, what: document.querySelector('#confirm-what').textContent,
    focused: document.activeElement.tagName + ' ' + document.activeElement.textContent.trim(), button: document.querySelector('form.confirm button.danger').textContent,
  })`)) as { h1: string; what: string; focused: string; button: string };
    if (!/^Delete message [0-9A-Za-z]{20}\?$/.test(shown.h1)) faults.push(`confirmation title: ${shown.h1}`);
    if (
      !/\(1 message, 1 recipient not yet delivered\) is deleted at once with its body; nobody is told\. This cannot be undone\./.test(
        shown.what,
      )
    )
      faults.push(`confirmation text: ${shown.what}`);
    if (shown.focused !== 'A Cancel') faults.push(`the focus is on ${shown.focused}, not on Cancel`);
    if (shown.button !== 'Delete 1 message') faults.push(`the danger button says ${shown.button}`);
    await checkPage(page, 'the confirmation of Delete…', 'light', faults, { loaded: true });
    await page.goto(`https://127.0.0.1:${webPort(lab.s)}/console/queue`);
    await page.locator('details.menu-actions summary').first().click();
    await Promise.all([
      page.waitForURL(/\/delete$/),
      page
        .getByRole('button', { name: /^Delete…/ })
        .first()
        .click(),
    ]);
    // Enter goes to whatever has the focus: wait until the page gave it to Cancel (autofocus), as a person would see it
    await page.waitForFunction(String.raw`document.activeElement && document.activeElement.textContent.trim() === 'Cancel'`, undefined, {
      timeout: 10_000,
    });
    await Promise.all([page.waitForURL(/\/console\/queue$/), page.keyboard.press('Enter')]);
    if ((await lab.s.server.store.queue.get(seeded.heldId)) === null) faults.push('Enter on the focused Cancel deleted the message');
  }));

test('the second step of a two-factor sign-in (light and dark): the code form passes every check, and a code from the app signs in', async () => {
  const token = (await lab.s.admin.addToken('twofactor-panel', { customer: 'acme' })).token;
  const secrets = createSecretBox(loadOrCreateKey(secretsKeyFile(lab.s.config)));
  const key = newTotpSecret();
  const store = lab.s.server.store;
  await store.consoleTotp.begin('token', 'twofactor-panel', secrets.seal(key), Date.now());
  await store.consoleTotp.confirm('token', 'twofactor-panel', [], 0, Date.now());
  for (const scheme of SCHEMES) {
    await audit(scheme, 'two-factor', async (page, faults) => {
      await page.goto(`https://127.0.0.1:${webPort(lab.s)}/console/login`);
      await page.getByLabel('API token').fill(token);
      await Promise.all([page.waitForURL(/\/console\/login\/2fa$/), page.getByRole('button', { name: 'Sign in with the token' }).click()]);
      await checkPage(page, '/console/login/2fa', scheme, faults, { loaded: true });
      // one code per 30 s step: the dark run waits for the next step if the light run used this one
      await page
        .getByLabel('The 6-digit code of your authenticator app, or a recovery code')
        .fill(totp(base32Decode(key)!, Date.now() + (scheme === 'dark' ? 30_000 : 0)));
      await Promise.all([page.waitForURL((u) => u.pathname === '/console'), page.getByRole('button', { name: 'Verify' }).click()]);
    });
  }
});
