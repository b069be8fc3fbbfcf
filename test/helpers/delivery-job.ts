/**
 * A DeliveryJob for unit tests: one message with plain defaults, the recipients given by
 * address, and what a test relies on passed explicitly.
 */
import type { DeliveryJob } from '../../src/core/index.ts';

export interface JobSpec {
  message?: Partial<DeliveryJob['message']>;
  domain?: string;
  /** The recipients' addresses (default: b@ the domain). */
  to?: string[];
  /** Fields every recipient gets on top of the defaults. */
  recipient?: Partial<DeliveryJob['recipients'][number]>;
  lease?: DeliveryJob['lease'];
}

export function deliveryJob(spec: JobSpec = {}): DeliveryJob {
  const domain = spec.domain ?? 'y.test';
  return {
    message: {
      id: 'Q1',
      customerId: 1,
      sender: 'a@x.test',
      size: 10,
      bodyPath: null,
      messageIdHeader: null,
      listener: 'submission',
      dsnRet: null,
      dsnEnvid: null,
      createdAt: 0,
      cancelled: false,
      eightBit: false,
      smtputf8: false,
      topHeaders: null,
      ...spec.message,
    },
    domain,
    recipients: (spec.to ?? [`b@${domain}`]).map((address, idx) => ({
      idx,
      address,
      attempts: 0,
      notify: null,
      orcpt: null,
      delayNotified: false,
      ...spec.recipient,
    })),
    lease: spec.lease ?? { owner: 'node', until: 0 },
  };
}
