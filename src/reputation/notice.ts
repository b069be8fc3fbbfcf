/** The postmaster's notice of new blocklist listings: a plain-text mail and a JSON body for a webhook. */
import { randomBytes } from 'node:crypto';
import type { NewListing } from './blocklists.ts';

const clean = (s: string) => s.replace(/[\r\n]+/g, ' ');

export function listingText(items: NewListing[], fallbackOf: (pool: string) => string | null): string[] {
  const lines: string[] = [];
  for (const { listing: l, suspects, blocked } of items) {
    lines.push(`${l.address} (pool ${l.pool}) is listed on ${l.zone}: ${l.codes.join(', ')}${l.meaning ? ` (${l.meaning})` : ''}`);
    const fb = fallbackOf(l.pool);
    lines.push(
      fb
        ? `  Mail of pool ${l.pool} now leaves from pool ${fb} until the address is delisted.`
        : `  Pool ${l.pool} has no fallback: its mail still leaves from it.`,
    );
    if (suspects.length) {
      lines.push("  Most likely cause, the pool's top senders in the hours before:");
      for (const s of suspects)
        lines.push(`    ${clean(s.sender)} (customer ${clean(s.customerName ?? '-')}): ${s.messages} messages, ${s.recipients} recipients`);
    } else {
      lines.push('  No sender of this pool sent tracked mail in the hours before.');
    }
    if (blocked.length) {
      lines.push('  Remote replies naming a blocklist in the hours before, by sender:');
      for (const b of blocked) lines.push(`    ${clean(b.sender)} (customer ${clean(b.customerName ?? '-')}): ${b.replies} replies`);
    }
    lines.push('');
  }
  return lines;
}

export function buildListingNotice(o: {
  hostname: string;
  from: string;
  to: string;
  now: Date;
  items: NewListing[];
  fallbackOf: (pool: string) => string | null;
}): Buffer {
  const pools = [...new Set(o.items.map((i) => i.listing.pool))];
  const lines = [
    `From: Mail Delivery System <${o.from}>`,
    `To: <${o.to}>`,
    `Subject: Blocklist listing of egress pool ${pools.join(', ')} on ${o.hostname}`,
    `Date: ${o.now.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${o.hostname}>`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    `This is the mail system at ${o.hostname}. New blocklist listings of our own sending addresses:`,
    '',
    ...listingText(o.items, o.fallbackOf),
    "See `postern pool show POOL` and the console's Pools page.",
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

export function listingJson(items: NewListing[], fallbackOf: (pool: string) => string | null) {
  return {
    type: 'blocklist-listed',
    listings: items.map(({ listing: l, suspects, blocked }) => ({
      pool: l.pool,
      address: l.address,
      zone: l.zone,
      codes: l.codes,
      meaning: l.meaning,
      listedSince: new Date(l.listedSince ?? l.checkedAt).toISOString(),
      fallback: fallbackOf(l.pool),
      suspects,
      blocked,
    })),
  };
}
