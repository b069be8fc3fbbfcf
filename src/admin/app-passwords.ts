/**
 * App passwords of a mailbox, for the admin service (CLI, API, console): generated here (24
 * characters from generatePassword, about 137 bits), shown once, stored as their SHA-256;
 * revoked by name (the next login with it fails); and the "app passwords only" mode.
 */
import type { Store } from '../store/index.ts';
import type { AppPassword, Mailbox } from '../core/index.ts';
import { generatePassword, appPasswordHash } from '../credentials/index.ts';
import { AdminError, missing, type TenantScope } from './errors.ts';
import { audit, read, APP_PASSWORDS, type Declarations } from './audit.ts';

const APP_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/;
const MAX_APP_PASSWORDS = 50;

export function createAppPasswordService(store: Store, mailboxOrFail: (address: string, scope?: TenantScope) => Promise<Mailbox>) {
  return {
    /** Makes a named app password; returns it (shown once) with its record. */
    async addAppPassword(
      address: string,
      name: string,
      scope?: TenantScope,
    ): Promise<{ mailbox: Mailbox; appPassword: AppPassword; password: string }> {
      const m = await mailboxOrFail(address, scope);
      const label = name.trim();
      if (!APP_NAME.test(label))
        throw new AdminError(`invalid app password name "${name}": 1 to 63 letters, digits, space, dot, dash or underscore`);
      if ((await store.appPasswords.list(m.id)).length >= MAX_APP_PASSWORDS)
        throw new AdminError(`${m.address} has ${MAX_APP_PASSWORDS} app passwords already; revoke one first`);
      const password = generatePassword();
      const appPassword = await store.appPasswords
        .add({ mailboxId: m.id, name: label, tokenHash: appPasswordHash(password) })
        .catch((err: Error & { kind?: string }) => {
          throw err.kind === 'conflict' ? new AdminError(`${m.address} already has an app password named ${label}`, 'conflict') : err;
        });
      return { mailbox: m, appPassword, password };
    },
    async listAppPasswords(address: string, scope?: TenantScope): Promise<{ mailbox: Mailbox; appPasswords: AppPassword[] }> {
      const m = await mailboxOrFail(address, scope);
      return { mailbox: m, appPasswords: await store.appPasswords.list(m.id) };
    },
    async revokeAppPassword(address: string, name: string, scope?: TenantScope): Promise<Mailbox> {
      const m = await mailboxOrFail(address, scope);
      if (!(await store.appPasswords.revoke(m.id, name.trim()))) throw missing(`${m.address} has no app password named ${name.trim()}`);
      return m;
    },
    /** On: the mailbox's own password no longer logs in on the submission ports (app passwords do). */
    async setAppPasswordsOnly(address: string, on: boolean, scope?: TenantScope): Promise<Mailbox> {
      const m = await mailboxOrFail(address, scope);
      return (await store.mailboxes.setAppPasswordsOnly(m.address, on))!;
    },
  };
}

/** What the audit trail records of each app password operation (names, never a hash). */
export const appPasswordOperations = {
  addAppPassword: audit('addAppPassword', APP_PASSWORDS),
  listAppPasswords: read,
  revokeAppPassword: audit('revokeAppPassword', APP_PASSWORDS),
  setAppPasswordsOnly: audit('setAppPasswordsOnly', APP_PASSWORDS),
} satisfies Declarations<ReturnType<typeof createAppPasswordService>>;
