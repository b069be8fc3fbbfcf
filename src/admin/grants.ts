/**
 * Sender grants, for the admin service: what else a mailbox may send as. Every grant stays
 * inside the mailbox's customer: an address or a domain of another customer (or of no
 * customer) is refused with a clear error, and so is anything that is not an address or a
 * domain. `<>` grants the null sender.
 */
import { addressKey, domainOf, normalizeDomain, type GrantKind, type Mailbox, type SenderGrant } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import { AdminError, missing, type TenantScope } from './errors.ts';
import { audit, read, MAILBOX, type Declarations } from './audit.ts';

export interface GrantInput {
  sendAs?: string;
  domain?: string;
}

export function createGrantService(store: Store, mailboxOrFail: (address: string, scope?: TenantScope) => Promise<Mailbox>) {
  /** The grant an input names, checked against the mailbox's customer. */
  async function resolve(m: Mailbox, input: GrantInput): Promise<{ kind: GrantKind; value: string }> {
    if ((input.sendAs === undefined) === (input.domain === undefined))
      throw new AdminError('give either --send-as ADDRESS or --domain DOMAIN');
    if (input.sendAs !== undefined) {
      const raw = input.sendAs.trim();
      if (raw === '<>' || raw === '') return { kind: 'null-sender', value: '' };
      const key = addressKey(raw);
      if (!key) throw new AdminError(`not a valid address: ${input.sendAs}`);
      if (key === m.address) throw new AdminError(`${key} is the mailbox's own address: it may always send as itself`);
      await ownDomain(m, domainOf(key)!);
      return { kind: 'address', value: key };
    }
    const domain = normalizeDomain(input.domain!);
    if (!domain) throw new AdminError(`not a valid domain name: ${input.domain}`);
    await ownDomain(m, domain);
    return { kind: 'domain', value: domain };
  }

  async function ownDomain(m: Mailbox, domain: string): Promise<void> {
    const d = await store.domains.get(domain);
    if (!d || d.customerId !== m.customerId) {
      throw new AdminError(
        `${domain} is not a domain of customer ${m.customerName}: a mailbox may only send as its own customer's domains`,
      );
    }
  }

  return {
    async grant(
      address: string,
      input: GrantInput,
      scope?: TenantScope,
    ): Promise<{ mailbox: Mailbox; grant: { kind: GrantKind; value: string }; added: boolean }> {
      const m = await mailboxOrFail(address, scope);
      const g = await resolve(m, input);
      const added = await store.grants.add({ mailboxId: m.id, ...g });
      return { mailbox: m, grant: g, added };
    },
    async revoke(
      address: string,
      input: GrantInput,
      scope?: TenantScope,
    ): Promise<{ mailbox: Mailbox; grant: { kind: GrantKind; value: string } }> {
      const m = await mailboxOrFail(address, scope);
      if (input.sendAs !== undefined && input.domain === undefined) {
        const raw = input.sendAs.trim();
        const g =
          raw === '<>' || raw === ''
            ? { kind: 'null-sender' as const, value: '' }
            : { kind: 'address' as const, value: addressKey(raw) ?? raw };
        if (!(await store.grants.remove({ mailboxId: m.id, ...g }))) throw missing(`${m.address} has no grant to send as ${raw || '<>'}`);
        return { mailbox: m, grant: g };
      }
      if (input.domain !== undefined && input.sendAs === undefined) {
        const value = normalizeDomain(input.domain) ?? input.domain;
        if (!(await store.grants.remove({ mailboxId: m.id, kind: 'domain', value })))
          throw missing(`${m.address} has no grant for the domain ${value}`);
        return { mailbox: m, grant: { kind: 'domain', value } };
      }
      throw new AdminError('give either --send-as ADDRESS or --domain DOMAIN');
    },
    async grants(address: string, scope?: TenantScope): Promise<{ mailbox: Mailbox; grants: SenderGrant[] }> {
      const m = await mailboxOrFail(address, scope);
      return { mailbox: m, grants: await store.grants.list(m.id) };
    },
  };
}

/** What the audit trail records of each grant operation. */
export const grantOperations = {
  grant: audit('grant', MAILBOX),
  revoke: audit('revoke', MAILBOX),
  grants: read,
} satisfies Declarations<ReturnType<typeof createGrantService>>;

/** How a grant reads in CLI output. */
export function describeGrant(g: { kind: GrantKind; value: string }): string {
  if (g.kind === 'null-sender') return 'the null sender <>';
  if (g.kind === 'domain') return `any address @${g.value}`;
  return g.value;
}
