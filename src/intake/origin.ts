/**
 * Where a message comes from, and what that implies for intake: whether it is signed and
 * scanned (as whom), whom it counts for under the sending limits, what a sender on hold means,
 * how its Received line names the protocol and how bare line ends are treated. Callers name the
 * origin; they never set these flags one by one.
 */
import { domainOf } from '../core/index.ts';
import type { LimitScope } from '../core/index.ts';
import type { HeaderFacts } from './headers.ts';

/** Checks the parsed header (sender identity) before anything is queued; throws to refuse. */
export type HeaderCheck = (facts: HeaderFacts) => void;

/** What happens to mail of a sender (mailbox or site) that is on hold, and how much of it may wait. */
export interface SenderHold {
  onSenderHold: 'hold' | 'refuse';
  heldCap: number;
}

/** Mail that came through sendmail, the drop folder or the send API, not over SMTP. */
export interface Injected {
  /** The Received line's protocol ("LOCAL", "HTTPS"). */
  protocol: string;
  /** A comment for the Received line naming the local sender ("site shop, unix user www"). */
  via: string;
  /** A From field to add when the message has none (sendmail -F / -f). */
  addFrom?: string;
}

/** An authenticated mailbox: SMTP AUTH, or a mailbox login through sendmail or the send API (then `injected`). */
export interface MailboxOrigin {
  kind: 'mailbox';
  mailboxId: number;
  address: string;
  customerId: number;
  customer: string;
  hold: SenderHold;
  checkHeader: HeaderCheck;
  injected?: Injected;
}

/** A site (sendmail, the drop folder, the send API with a site token). */
export interface SiteOrigin {
  kind: 'site';
  siteId: number;
  name: string;
  customerId: number;
  customer: string;
  hold: SenderHold;
  checkHeader: HeaderCheck;
  injected: Injected;
}

/** Unauthenticated mail on the mx port, for a hosted route: scanned, never signed, no limits. */
export interface RelayOrigin {
  kind: 'relay';
}

/** Our own notices (bounces, delay warnings, hold and listing notices): signed, never scanned, no limits nor holds. */
export interface NoticeOrigin {
  kind: 'notice';
  /** The customer it is about, when there is one. */
  customerId: number | null;
}

export type IntakeOrigin = MailboxOrigin | SiteOrigin | RelayOrigin | NoticeOrigin;

/** What an origin implies for one message. */
export interface OriginFlags {
  customerId: number | null;
  mailboxId: number | null;
  siteId: number | null;
  /** The authenticated mailbox (the Received line says so, webhooks and spam reports name it). */
  authUser: string | null;
  /** DKIM-sign it when its From domain has an active key. */
  sign: boolean;
  /** Scan it with the content scanner, as this user ("site:NAME" for a site); null: not scanned. */
  scan: { user: string | null } | null;
  /** Whom it counts for under the sending limits; none: no limits. */
  limitScope: LimitScope | undefined;
  /** What to do when the sender (its mailbox or site) is on hold; none: no holds. */
  onSenderHold: SenderHold['onSenderHold'] | undefined;
  heldCap: number | undefined;
  checkHeader: HeaderCheck | undefined;
  /** The Received line's protocol when it is not SMTP. */
  protocol: string | undefined;
  via: string | undefined;
  addFrom: string | undefined;
  /** Overrides the configured bare line-end handling (sendmail input is LF-terminated by nature). */
  bareLineEndings: 'normalize' | undefined;
}

const NONE = { protocol: undefined, via: undefined, addFrom: undefined, bareLineEndings: undefined } as const;
const injectedFlags = (i: Injected | undefined) =>
  i ? { protocol: i.protocol, via: i.via, addFrom: i.addFrom, bareLineEndings: 'normalize' as const } : NONE;
const UNLIMITED = { limitScope: undefined, onSenderHold: undefined, heldCap: undefined, checkHeader: undefined } as const;

/** The flags an origin implies; `sender` is the envelope sender (a site's mail counts for its domain). */
export function flagsOf(origin: IntakeOrigin, sender: string): OriginFlags {
  switch (origin.kind) {
    case 'mailbox':
      return {
        customerId: origin.customerId,
        mailboxId: origin.mailboxId,
        siteId: null,
        authUser: origin.address,
        sign: true,
        scan: { user: origin.address },
        limitScope: { customer: origin.customer, domain: domainOf(origin.address) ?? '', mailbox: origin.address },
        onSenderHold: origin.hold.onSenderHold,
        heldCap: origin.hold.heldCap,
        checkHeader: origin.checkHeader,
        ...injectedFlags(origin.injected),
      };
    case 'site':
      return {
        customerId: origin.customerId,
        mailboxId: null,
        siteId: origin.siteId,
        authUser: null,
        sign: true,
        scan: { user: `site:${origin.name}` },
        limitScope: { customer: origin.customer, domain: domainOf(sender) ?? '', site: origin.name },
        onSenderHold: origin.hold.onSenderHold,
        heldCap: origin.hold.heldCap,
        checkHeader: origin.checkHeader,
        ...injectedFlags(origin.injected),
      };
    case 'relay':
      return { customerId: null, mailboxId: null, siteId: null, authUser: null, sign: false, scan: { user: null }, ...UNLIMITED, ...NONE };
    case 'notice':
      return {
        customerId: origin.customerId,
        mailboxId: null,
        siteId: null,
        authUser: null,
        sign: true,
        scan: null,
        ...UNLIMITED,
        ...NONE,
      };
  }
}
