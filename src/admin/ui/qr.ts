/**
 * A QR code as inline SVG, drawn on the server (no script, no image request): one path of dark
 * modules on a light square with the quiet zone, so it scans in the dark scheme too.
 */
import qrcode from 'qrcode-generator';
import { html, type Html } from './html.ts';

/** The dark modules of `text` (error correction M, the smallest version that holds it). */
export function qrModules(text: string): boolean[][] {
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  return Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => qr.isDark(r, c)));
}

export function qrSvg(text: string, label: string): Html {
  const m = qrModules(text);
  const quiet = 4;
  const size = m.length + 2 * quiet;
  let d = '';
  m.forEach((row, r) =>
    row.forEach((dark, c) => {
      if (dark) d += `M${c + quiet} ${r + quiet}h1v1h-1z`;
    }),
  );
  return html`<svg class="qr" role="img" aria-label="${label}" viewBox="0 0 ${size} ${size}" width="220" height="220" shape-rendering="crispEdges" xmlns="http://www.w3.org/2000/svg"><rect width="${size}" height="${size}" fill="#fff"/><path d="${d}" fill="#000"/></svg>`;
}
