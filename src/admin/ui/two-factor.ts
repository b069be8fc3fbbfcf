/**
 * Two-factor sign-in (TOTP, RFC 6238). After the first factor (a token or a mailbox password)
 * a subject with a confirmed second factor gets no session yet: a sealed, 5-minute cookie
 * remembers who passed the first step, and /console/login/2fa asks for a code of the
 * authenticator app (or a recovery code, each once). A role listed in
 * console.twoFactor.required with none set up is led through setting it up (QR code drawn on
 * the server, the key to type, a first code to confirm, ten recovery codes shown once) before
 * any page. A signed-in user sets it up or turns it off (when the role does not require it)
 * under /console/security. A code is accepted once (the store keeps the last step); wrong codes
 * count like failed sign-ins (the address ban). Setting up, turning off and using a recovery
 * code are in the audit trail.
 */
import type { Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { base32Decode, matchStep, newRecoveryCodes, newTotpSecret, otpauthUri, recoveryHash } from '../../credentials/index.ts';
import type { ConsoleSession } from '../../core/index.ts';
import type { ConsoleApp, ConsoleDeps, ConsoleEnv } from './context.ts';
import { BASE, copyField, csrfField, flash, html, page, type Html } from './html.ts';
import { crossSite, readForm, roleOf, safeNext } from './guard.ts';
import { bannedFor, failedLogin } from './login.ts';
import { qrSvg } from './qr.ts';
import type { Sessions } from './session.ts';
import { act, field } from './actions.ts';

type Who = Pick<ConsoleSession, 'via' | 'subject' | 'customerId'>;
interface Pending extends Who {
  step: 'verify' | 'enrol';
  next: string;
  exp: number;
}

const PENDING = 'postern-2fa';
const PENDING_MS = 5 * 60_000;
export type Role = 'operator' | 'customer' | 'mailbox';
const roleOfWho = (w: Who): Role => roleOf({ ...w } as ConsoleSession);

export function createTwoFactor(deps: ConsoleDeps, sessions: Sessions) {
  const totps = deps.store.consoleTotp;
  const cfg = deps.twoFactor ?? { required: [], issuer: 'Postern' };
  const audit = (w: Who, action: string, now: number) =>
    deps.store.audit.add({
      at: now,
      actor: `console:${w.subject}`,
      action,
      target: `console-2fa:${w.via}:${w.subject}`,
      before: null,
      after: null,
    });

  function setPending(c: Context, p: Pending): void {
    setCookie(c, PENDING, deps.secrets().seal(JSON.stringify(p)), {
      prefix: 'host',
      path: '/',
      secure: true,
      httpOnly: true,
      sameSite: 'Strict',
      maxAge: PENDING_MS / 1000,
    });
  }
  function pendingOf(c: Context, now: number): Pending | null {
    const v = getCookie(c, PENDING, 'host');
    if (!v) return null;
    try {
      const p = JSON.parse(deps.secrets().open(v)) as Pending;
      return p.exp > now ? p : null;
    } catch {
      return null;
    }
  }
  const clearPending = (c: Context) => deleteCookie(c, PENDING, { prefix: 'host', path: '/', secure: true });

  /** The key of a subject's (pending or confirmed) second factor, or null. */
  async function keyOf(w: Who): Promise<{ key: Buffer; secret: string; confirmed: boolean } | null> {
    const t = await totps.get(w.via, w.subject);
    if (!t) return null;
    const secret = deps.secrets().open(t.secret);
    return { key: base32Decode(secret)!, secret, confirmed: t.confirmedAt !== null };
  }

  /** The pending enrolment's key, made now when there is none (a reload shows the same QR code). */
  async function enrolmentKey(w: Who, now: number): Promise<string> {
    const k = await keyOf(w);
    if (k && !k.confirmed) return k.secret;
    const secret = newTotpSecret();
    await totps.begin(w.via, w.subject, deps.secrets().seal(secret), now);
    return secret;
  }

  function enrolBody(w: Who, secret: string, action: string, hidden: Html, error: string | null): Html {
    const uri = otpauthUri(cfg.issuer, w.subject, secret);
    return html`${error ? html`<p class="flash error" role="alert" id="code-error">${error}</p>` : ''}
<ol class="steps">
<li><p>In an authenticator app (any TOTP app), add an account by scanning this code:</p>
${qrSvg(uri, `QR code for ${cfg.issuer}: ${w.subject}`)}
<p>or by typing the key: ${copyField('The key to type into the app', secret.replace(/(.{4})/g, '$1 ').trim(), 'totp-key')}</p></li>
<li><form method="post" action="${action}">${hidden}
<label for="code">The 6-digit code the app shows now</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" required${error ? html` aria-describedby="code-error"` : ''}>
<p><button type="submit">Turn on two-factor sign-in</button></p></form></li>
</ol>`;
  }

  function recoveryPage(c: Context<ConsoleEnv>, codes: string[], next: string, session: ConsoleSession): Promise<Response> {
    return page(c, {
      title: 'Two-factor sign-in is on',
      session,
      body: html`<p class="flash" role="status">From now on, signing in asks for a code of your authenticator app after the first step.</p>
<h2>Your recovery codes</h2>
<p>If you lose the app, each of these codes signs you in once instead of a code. Keep them somewhere safe: they are shown only this once and are not stored in readable form.</p>
<ol class="codes">${codes.map((k) => html`<li><code>${k}</code></li>`)}</ol>
<p><a href="${safeNext(next)}">Continue</a></p>`,
    });
  }

  /** Confirms an enrolment with a first code: the recovery codes, or null when the code is wrong. */
  async function confirmEnrolment(w: Who, code: string, now: number): Promise<string[] | null> {
    const k = await keyOf(w);
    if (!k || k.confirmed) return null;
    const step = matchStep(k.key, code, now);
    if (step === null) return null;
    const codes = newRecoveryCodes();
    if (!(await totps.confirm(w.via, w.subject, codes.map(recoveryHash), step, now))) return null;
    await audit(w, 'enrolTwoFactor', now);
    deps.logger.info({ evt: 'console', user: w.subject, result: '2fa-enrolled' }, 'two-factor sign-in set up');
    return codes;
  }

  /** A code of the app (each step once) or a recovery code (each once): true when it signs in. */
  async function verify(w: Who, input: string, now: number): Promise<boolean> {
    const k = await keyOf(w);
    if (!k || !k.confirmed) return false;
    const step = matchStep(k.key, input, now);
    if (step !== null) return totps.useStep(w.via, w.subject, step);
    if (/^[A-Za-z2-7]{5}-?[A-Za-z2-7]{5}$/.test(input.trim()) && (await totps.useRecovery(w.via, w.subject, recoveryHash(input)))) {
      await audit(w, 'useRecoveryCode', now);
      return true;
    }
    return false;
  }

  return {
    /**
     * After the first factor: a session at once, or (a second factor set up, or required) the
     * second step first. Answers the response to send.
     */
    async afterFirstFactor(c: Context<ConsoleEnv>, who: Who, next: string, now: number): Promise<Response> {
      const t = await totps.get(who.via, who.subject);
      if (t?.confirmedAt != null) {
        setPending(c, { ...who, step: 'verify', next, exp: now + PENDING_MS });
        return c.redirect(`${BASE}/login/2fa`, 303);
      }
      if (cfg.required.includes(roleOfWho(who))) {
        setPending(c, { ...who, step: 'enrol', next, exp: now + PENDING_MS });
        return c.redirect(`${BASE}/login/2fa/enrol`, 303);
      }
      await sessions.start(c, who, now);
      return c.redirect(next, 303);
    },

    /** The second step of signing in (before any session): /login/2fa and /login/2fa/enrol. */
    mountSignIn(app: ConsoleApp): void {
      const ipOf = (c: Context<ConsoleEnv>) => c.env.incoming.socket.remoteAddress ?? '';
      const expired = (c: Context<ConsoleEnv>) => {
        clearPending(c);
        return page(c, {
          title: 'Sign in again',
          session: null,
          status: 401,
          body: html`<p>The first step of signing in was more than 5 minutes ago, or was not made here. <a href="${BASE}/login">Sign in again</a>.</p>`,
        });
      };
      const codeForm = (error: string | null) => html`${error ? html`<p class="flash error" role="alert" id="code-error">${error}</p>` : ''}
<form method="post" action="${BASE}/login/2fa" class="login">
<label for="code">The 6-digit code of your authenticator app, or a recovery code</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="16" required${error ? html` aria-describedby="code-error"` : ''}>
<p><button type="submit">Verify</button></p></form>
<p class="muted">A recovery code (xxxxx-xxxxx) works once. Lost both? Ask your provider${'' /* operators: postern audit shows the setup */}.</p>`;
      const showVerify = (c: Context<ConsoleEnv>, error: string | null, status = 200) =>
        page(c, { title: 'Second step: your code', session: null, status, body: codeForm(error) });

      app.get('/login/2fa', (c) => {
        const p = pendingOf(c, deps.clock.now());
        if (!p || p.step !== 'verify') return expired(c);
        return showVerify(c, null);
      });
      app.post('/login/2fa', async (c) => {
        const now = deps.clock.now();
        const ip = ipOf(c);
        const wait = await bannedFor(deps, ip, now);
        if (wait !== null) {
          c.header('retry-after', String(wait));
          return showVerify(c, `Too many failed sign-ins from your address. Try again in ${Math.ceil(wait / 60)} minutes.`, 429);
        }
        const p = pendingOf(c, now);
        if (!p || p.step !== 'verify') return expired(c);
        const form = crossSite(c) ? 'cross-site' : await readForm(c);
        if (typeof form === 'string') return showVerify(c, 'The form could not be read. Try again.', 400);
        if (!(await verify(p, form.code ?? '', now))) {
          await failedLogin(deps, { ip, now, reason: 'second-factor', user: p.subject });
          return showVerify(c, 'That code is not right (or was used already). Type the code the app shows now.', 401);
        }
        clearPending(c);
        await sessions.start(c, p, now);
        deps.logger.info({ evt: 'console', ip, user: p.subject, result: 'signed-in', factor: 'totp' }, 'console sign-in');
        return c.redirect(safeNext(p.next), 303);
      });
      app.get('/login/2fa/enrol', async (c) => {
        const now = deps.clock.now();
        const p = pendingOf(c, now);
        if (!p || p.step !== 'enrol') return expired(c);
        return page(c, {
          title: 'Set up two-factor sign-in',
          session: null,
          body: html`<p>Your provider requires a second factor for signing in here. Set it up once; then each sign-in asks for a code of the app.</p>${enrolBody(p, await enrolmentKey(p, now), `${BASE}/login/2fa/enrol`, html``, null)}`,
        });
      });
      app.post('/login/2fa/enrol', async (c) => {
        const now = deps.clock.now();
        const ip = ipOf(c);
        const p = pendingOf(c, now);
        if (!p || p.step !== 'enrol') return expired(c);
        const form = crossSite(c) ? 'cross-site' : await readForm(c);
        if (typeof form === 'string') return expired(c);
        const codes = await confirmEnrolment(p, form.code ?? '', now);
        if (!codes) {
          await failedLogin(deps, { ip, now, reason: 'second-factor', user: p.subject });
          return page(c, {
            title: 'Set up two-factor sign-in',
            session: null,
            status: 401,
            body: enrolBody(
              p,
              await enrolmentKey(p, now),
              `${BASE}/login/2fa/enrol`,
              html``,
              "That code is not right. Type the code the app shows now (check the phone's clock if it keeps failing).",
            ),
          });
        }
        clearPending(c);
        const session = await sessions.start(c, p, now);
        return recoveryPage(c, codes, p.next, session);
      });
    },

    /** /security for a signed-in user: the state, set up, turn off. */
    mountSecurity(app: ConsoleApp): void {
      const whoOf = (c: Context<ConsoleEnv>): Who => c.get('session');
      app.get('/security', async (c) => {
        const w = whoOf(c);
        const k = await keyOf(w);
        const required = cfg.required.includes(roleOfWho(w));
        const t = k?.confirmed ? await totps.get(w.via, w.subject) : null;
        return page(c, {
          title: 'Security',
          body: k?.confirmed
            ? html`<p><span class="state ok">on</span> Two-factor sign-in is on for ${w.subject}: after the first step, signing in asks for a code of your authenticator app. ${t!.recoveryHashes.length} recovery codes are left.</p>
${
  required
    ? html`<p class="muted">Your provider requires it for your role, so it cannot be turned off here.</p>`
    : html`<h2>Turn it off</h2>
<form method="post" action="${BASE}/security/disable">${csrfField(c.get('session'))}
<label for="off-code">A code of your app, to show it is you</label>
<input id="off-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="7" required>
<p><button type="submit" class="danger">Turn off two-factor sign-in</button></p></form>`
}`
            : html`<p><span class="state warn">off</span> Signing in takes only ${w.via === 'token' ? 'the token' : 'the password'}. A second factor keeps a stolen ${w.via === 'token' ? 'token' : 'password'} from signing in here.</p>
<h2>Set up two-factor sign-in</h2>
${enrolBody(w, await enrolmentKey(w, deps.clock.now()), `${BASE}/security/enrol`, csrfField(c.get('session')), null)}`,
        });
      });
      app.post('/security/enrol', async (c) => {
        const now = deps.clock.now();
        const w = whoOf(c);
        const codes = await confirmEnrolment(w, field(c, 'code'), now);
        if (!codes) {
          flash(c, "That code is not right. Type the code the app shows now (check the phone's clock if it keeps failing).", 'error');
          return c.redirect(`${BASE}/security`, 303);
        }
        return recoveryPage(c, codes, `${BASE}/security`, c.get('session'));
      });
      app.post('/security/disable', (c) =>
        act(c, `${BASE}/security`, async () => {
          const now = deps.clock.now();
          const w = whoOf(c);
          if (cfg.required.includes(roleOfWho(w))) return 'Two-factor sign-in is required for your role; it stays on.';
          const k = await keyOf(w);
          const step = k?.confirmed ? matchStep(k.key, field(c, 'code'), now) : null;
          if (step === null || !(await totps.useStep(w.via, w.subject, step))) {
            await failedLogin(deps, { ip: c.env.incoming.socket.remoteAddress ?? '', now, reason: 'second-factor', user: w.subject });
            return 'That code is not right; two-factor sign-in stays on.';
          }
          await totps.remove(w.via, w.subject);
          await audit(w, 'disableTwoFactor', now);
          return 'Two-factor sign-in is off. Signing in takes the first step only.';
        }),
      );
    },
  };
}

export type TwoFactor = ReturnType<typeof createTwoFactor>;
