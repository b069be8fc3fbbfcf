/**
 * The settings page: what a customer types into a mail program, why port 25 may not work from
 * home, the Apple profile, and how to check the connection. One server-rendered HTML page with
 * its styles inline: no script, no external resource, readable on a phone (fluid layout, 16 px
 * text, large targets), accessible (one h1, labelled form, real table headers, high contrast).
 */
import { xmlEscape as esc, type ClientSettings, type ServerSetting } from './settings.ts';

const STYLE = `
:root{color-scheme:light dark}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:1rem;color:#111;background:#fff}
main{max-width:44rem;margin:0 auto}
h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:2rem 0 .5rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.5rem;border-bottom:1px solid #767676;vertical-align:top;overflow-wrap:break-word;hyphens:auto}
th{width:38%}
td code{overflow-wrap:anywhere}
.rec{background:#e8f5e9;color:#111;padding:.75rem;border-left:4px solid #1b5e20}
code,kbd{font:0.95em ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f3f3f3;color:#111;padding:.5rem}
label{display:block;font-weight:600;margin:.5rem 0 .25rem}
input{font:inherit;padding:.6rem;width:100%;box-sizing:border-box;border:2px solid #555;border-radius:4px}
button{font:inherit;font-weight:600;margin-top:.75rem;padding:.7rem 1.2rem;min-height:44px;border:0;border-radius:4px;background:#0b57d0;color:#fff;cursor:pointer}
button:focus,input:focus,a:focus{outline:3px solid #f9a825;outline-offset:2px}
a{color:#0b57d0}
@media (prefers-color-scheme:dark){body{background:#121212;color:#eee}.rec{background:#1b3320;color:#eee}pre{background:#222;color:#eee}a{color:#8ab4f8}th,td{border-color:#999}}
`;

function security(s: ServerSetting): string {
  return s.security === 'SSL/TLS' ? 'SSL/TLS (also called "SSL")' : 'STARTTLS (also called "TLS")';
}

function serverTable(title: string, s: ServerSetting, extra: [string, string][] = []): string {
  const rows: [string, string][] = [
    ['Server', `<code>${esc(s.host)}</code>`],
    ['Port', String(s.port)],
    ['Connection security', esc(security(s))],
    ['User name', 'your full email address'],
    ['Password', 'the password of your mailbox'],
    ['Authentication', 'normal password'],
    ...extra,
  ];
  return `<table><caption class="vh">${esc(title)}</caption><tbody>${rows.map(([k, v]) => `<tr><th scope="row">${k}</th><td>${v}</td></tr>`).join('')}</tbody></table>`;
}

export function settingsPage(domain: string, c: ClientSettings, opts: { profile: boolean }): string {
  const [best, ...others] = c.outgoing;
  const alternatives = others.length
    ? `<p>If your mail program cannot connect on port ${best!.port}, use the same settings with ${others.map((o) => `port ${o.port} and ${esc(o.security)}`).join(', or ')}.</p>`
    : '';
  const incoming = c.incoming.length
    ? `<h2>Incoming mail</h2>${c.incoming.map((s) => serverTable(`Incoming mail (${s.protocol.toUpperCase()})`, s, [['Type', s.protocol.toUpperCase()]])).join('')}`
    : '';
  const profile = opts.profile
    ? `<h2>iPhone, iPad and Mac</h2>
<p>Download a profile that sets up your account; you will be asked for your password once.</p>
<form method="get" action="/settings/profile.mobileconfig">
<input type="hidden" name="domain" value="${esc(domain)}">
<label for="email">Your email address</label>
<input id="email" name="email" type="email" inputmode="email" autocomplete="email" required placeholder="you@${esc(domain)}">
<button type="submit">Download the profile</button>
</form>`
    : '';
  const check = best
    ? `<h2>Check your connection</h2>
<p>If sending fails, check whether your network lets you reach the server. On Windows, open PowerShell and type:</p>
<pre><kbd>Test-NetConnection ${esc(best.host)} -Port ${best.port}</kbd></pre>
<p>On a Mac or Linux, open Terminal and type:</p>
<pre><kbd>nc -vz ${esc(best.host)} ${best.port}</kbd></pre>
<p>"TcpTestSucceeded : True" or "succeeded" means the port is open from where you are. Our support staff can run a full check of every port with <code>postern probe</code>.</p>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mail settings for ${esc(domain)}</title>
<style>${STYLE}.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}</style>
</head>
<body>
<main>
<h1>Mail settings for ${esc(domain)}</h1>
<p>Enter these settings in your mail program (Outlook, Thunderbird, Apple Mail, a phone's mail app) to send mail from your ${esc(domain)} address through ${esc(c.provider)}.</p>
<h2>Outgoing mail (SMTP)</h2>
${best ? `<div class="rec">${serverTable('Outgoing mail (SMTP)', best)}</div>${alternatives}` : '<p>No outgoing mail port is open on this server at the moment.</p>'}
<h2>Why not port 25?</h2>
<p>Many home and mobile internet providers block port 25 so that infected computers cannot send spam, which is why sending can stop working at home. Port ${best?.port ?? 465} is meant for mail programs: it works from almost any network and always asks for your password over an encrypted connection.</p>
${incoming}
${profile}
${check}
</main>
</body>
</html>
`;
}

export function notFoundPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Not found</title><style>${STYLE}</style></head>
<body><main><h1>Not found</h1><p>There are no mail settings for this name here. Check the address, or ask your provider for the right link.</p></main></body></html>
`;
}
