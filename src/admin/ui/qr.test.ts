/** The enrolment QR code: a real QR symbol (finder patterns, size of its version) as SVG without script or style. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { qrModules, qrSvg } from './qr.ts';

test('the modules of an otpauth URI form a QR symbol: square, 4n+17 wide, three finder patterns', () => {
  const m = qrModules(
    'otpauth://totp/Postern:panel?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Postern&algorithm=SHA1&digits=6&period=30',
  );
  const n = m.length;
  assert.equal((n - 17) % 4, 0, `version size, got ${n}`);
  assert.ok(m.every((row) => row.length === n));
  const finder = (r0: number, c0: number) =>
    [0, 6].every((i) => [0, 1, 2, 3, 4, 5, 6].every((j) => m[r0 + i]![c0 + j] && m[r0 + j]![c0 + i])) && m[r0 + 3]![c0 + 3];
  assert.ok(finder(0, 0) && finder(0, n - 7) && finder(n - 7, 0), 'finder patterns in three corners');
  assert.ok(!m[n - 4]![n - 4] || !finder(n - 7, n - 7), 'none in the fourth');
});

test('the SVG: labelled image, a light square behind dark modules, no script, no style', async () => {
  const svg = String(await qrSvg('otpauth://totp/x', 'QR code of the key'));
  assert.match(svg, /^<svg class="qr" role="img" aria-label="QR code of the key" viewBox="0 0 (\d+) \1"/);
  assert.match(svg, /<rect width="\d+" height="\d+" fill="#fff"\/><path d="(M\d+ \d+h1v1h-1z)+" fill="#000"\/><\/svg>$/);
  assert.doesNotMatch(svg, /<script|style=/);
});
