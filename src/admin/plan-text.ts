/** A lifecycle plan (removal, move) as lines of text: the CLI prints them, the console lists them; the same for a dry run and for the real thing. */
import { zoneQuoted } from '../dkim/index.ts';
import type { LifecyclePlan } from './removal.ts';

const n = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
const listed = (items: string[]) => (items.length ? items.join(', ') : 'none');

/** The plan as lines; `done`: it was carried out (else a dry run); `mode` and `waitS`: how its queued mail is settled. */
export function planLines(p: LifecyclePlan, o: { done: boolean; mode?: 'drain' | 'bounce'; waitS?: number }): string[] {
  const head =
    p.action === 'domain move'
      ? `domain ${p.target}: from customer ${p.customer} to ${p.to}${o.done ? ' (moved)' : ' (dry run: nothing changed)'}`
      : `${p.action.split(' ')[0]} ${p.target}${p.action === 'domain remove' ? ` (customer ${p.customer})` : ''}${o.done ? ' removed' : ' (dry run: nothing changed)'}`;
  const out = [head];
  const move = p.action === 'domain move';
  const gone = move ? (o.done ? 'moved' : 'would move') : o.done ? 'removed' : 'would be removed';
  if (p.action === 'customer remove') out.push(`  domains ${gone}: ${listed(p.domains)}`);
  out.push(`  mailboxes ${gone}: ${listed(p.mailboxes)}`);
  if (p.action === 'customer remove') out.push(`  sites ${gone}: ${listed(p.sites)}`);
  const fate = (f: string) =>
    p.grants.filter((g) => g.fate === f).map((g) => `${g.holder === 'site' ? 'site:' : ''}${g.name} ${g.kind}:${g.value || '<>'}`);
  if (move) {
    out.push(`  grants kept (within ${p.to}): ${listed(fate('kept'))}`);
    out.push(
      `  site grants on ${p.target} ${o.done ? 'removed' : 'to remove'} (the sites stay with ${p.customer}): ${listed(fate('removed').filter((g) => g.startsWith('site:')))}`,
    );
    out.push(
      `  grants that would cross customers${o.done ? ' (dropped)' : ' (refused unless --drop-crossing-grants)'}: ${listed(fate('crossing'))}`,
    );
  } else {
    out.push(`  sender grants ${gone}: ${listed(fate('removed'))}`);
  }
  if (move) out.push(`  DKIM keys kept (the DNS does not change): ${listed(p.dkim.map((k) => `${k.selector} (${k.state})`))}`);
  else if (!p.dkim.length) out.push('  DKIM keys: none');
  else {
    out.push(
      `  DKIM keys: ${n(p.dkim.length, 'private key')} ${o.done ? 'destroyed' : 'to be destroyed'}; these records can then be removed from DNS:`,
    );
    for (const k of p.dkim) out.push(`    ${k.record}. IN TXT ${zoneQuoted(k.value)}`);
  }
  out.push(`  routes ${move ? 'kept' : gone}: ${listed(p.routes)}`);
  out.push(
    `  limits ${move ? `that move with it (domain and mailbox limits; ${p.customer}'s customer limits stay)` : gone}: ${listed(p.limits)}`,
  );
  if (p.action === 'customer remove') {
    out.push(`  suppressions ${gone}: ${p.suppressions}`);
    out.push(`  webhook endpoints ${gone}: ${listed(p.webhooks)}`);
    out.push(`  API tokens ${gone}: ${listed(p.tokens)}`);
  } else if (move) out.push(`  suppressions: stay with ${p.customer} (they are its recipients' bounces)`);
  const q = p.queued.map((m) => `${m.id} ${m.state} from ${m.sender}`);
  const how = move
    ? `stay accounted to ${p.customer} and are delivered`
    : o.mode === 'bounce'
      ? 'bounced to their senders (null-sender notices deleted)'
      : `delivered first (waiting at most ${o.waitS ?? 120} s)`;
  out.push(`  queued messages (${p.queued.length}): ${listed(q)}${p.queued.length ? ` -> ${how}` : ''}`);
  if (!move)
    out.push(
      `  kept: the audit trail; message tracking until its retention time, marked ${p.action === 'customer remove' ? 'customer' : 'domain'}:${p.target}`,
    );
  return out;
}
