/**
 * bounce/: RFC 3464 delivery status notifications (non-delivery, delay and success reports):
 * the pure builder of the multipart/report message (dsn.ts), the notifier that hands it to
 * intake with the null envelope sender (notify.ts; queue/'s runner is handed it as its
 * Notifier), the hold notice (hold-notice.ts, sent by hold-send.ts), and noticeRequest
 * (notice-request.ts): the one place that builds the intake request of a message Postern
 * writes itself. A notice is never sent *to* the null sender: a failed bounce goes once to the
 * configured postmaster, anything else is logged and dropped, so notices cannot loop. Never
 * reads the store and never decides whether a report is due (queue/ does). Fails by throwing
 * on bad input or when intake cannot queue the notice.
 * Imports: core, observability, intake.
 */
export { buildDsn, dsnSubject, type DsnInput, type DsnRecipient, type DsnAction } from './dsn.ts';
export { buildHoldNotice, type HoldNoticeInput } from './hold-notice.ts';
export { noticeRequest, type NoticeRequestInput } from './notice-request.ts';
export { createHoldNotifier, type HeldSender, type HoldNotifierDeps, type NoticeIntake } from './hold-send.ts';
export { createNotifier, BOUNCE_LISTENER, POSTMASTER_LISTENER, type Notifier, type NoticeItem, type NoticeKind } from './notify.ts';
