/**
 * The one place that builds the intake request of a message Postern writes itself (a delivery
 * status notification, a hold notice, a blocklist notice, a refused drop file's bounce): the
 * null sender, no NOTIFY (a failed notice must still be seen: it goes to the postmaster or is
 * logged), from the loopback client, DKIM-signed like customer mail. Callers hand the result to
 * intake's receive.
 */

export interface NoticeRequestInput {
  queueId: string;
  to: readonly string[];
  /** Whose notice it is (its limits and signing domain), or null (the host's own). */
  customerId: number | null;
  /** The listener name it is recorded under ('bounce', 'postmaster', 'notice'). */
  listener: string;
  /** This host's name (the HELO of the record). */
  hostname: string;
  /** The size limit, when it is not intake's default (a bounce carries the original). */
  maxSize?: number;
}

/** The intake request of a notice (structurally intake's IntakeRequest: the notice origin signs it and counts no limits). */
export function noticeRequest(n: NoticeRequestInput) {
  return {
    queueId: n.queueId,
    origin: { kind: 'notice' as const, customerId: n.customerId },
    sender: '',
    recipients: n.to.map((address) => ({ address })),
    dsnRet: null,
    dsnEnvid: null,
    clientIp: '127.0.0.1',
    clientHostname: 'localhost',
    heloName: n.hostname,
    tls: null,
    listener: n.listener,
    ...(n.maxSize === undefined ? {} : { maxSize: n.maxSize }),
  };
}
