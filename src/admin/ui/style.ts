/**
 * The console's one stylesheet (served at /console/console.css; no inline style, so the
 * Content-Security-Policy allows none). Contrast: text and controls at least 4.5:1 in light
 * and dark; a visible focus ring (at least 3:1 against the page in either scheme) on everything
 * that takes the keyboard. Wide tables scroll in their own region, never the page (on a phone a
 * table keeps a readable width and scrolls); ids never wrap; the header sticks, its navigation
 * folds into a Menu (details, no script) below 64rem.
 */
export const CONSOLE_CSS = `
:root{color-scheme:light dark;--fg:#111;--bg:#fff;--muted:#444;--line:#767676;--accent:#0b57d0;--accent-fg:#fff;--ok:#1b5e20;--ok-bg:#e8f5e9;--bad:#b3261e;--bad-bg:#fdecea;--warn:#7a4f00;--warn-bg:#fff4e0;--panel:#f4f4f4;--focus:#b35c00}
@media (prefers-color-scheme:dark){:root{--fg:#eee;--bg:#121212;--muted:#c8c8c8;--line:#9a9a9a;--accent:#8ab4f8;--accent-fg:#111;--ok:#a5d6a7;--ok-bg:#1b3320;--bad:#f2b8b5;--bad-bg:#3b1614;--warn:#ffd180;--warn-bg:#3a2a00;--panel:#1e1e1e;--focus:#f9a825}}
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--fg);background:var(--bg)}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.skip{position:absolute;left:-999px;top:0;background:var(--bg);padding:.5rem}
.skip:focus{left:.5rem}
header{position:sticky;top:0;z-index:10;background:var(--bg);border-bottom:1px solid var(--line)}
header .bar{display:flex;align-items:center;gap:.5rem 1rem;padding:.35rem 1.5rem;min-height:3.25rem}
header .brand{font-weight:700;white-space:nowrap}
header .wide{display:flex;align-items:center;gap:1rem;flex:1;min-width:0}
header .wide button{padding:.35rem .8rem}
header .wide nav{flex:1;min-width:0}
header .who{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:14rem;font-size:.85rem}
header .narrow{display:none;margin-left:auto}
header .narrow summary{font-weight:600;padding:.45rem .9rem;border:2px solid var(--accent);border-radius:4px;color:var(--accent);cursor:pointer;list-style:none}
header .narrow summary::-webkit-details-marker{display:none}
header .narrow summary::after{content:" \\25BE"}
header .narrow .menu{position:absolute;right:0;left:0;top:100%;background:var(--bg);border-bottom:1px solid var(--line);padding:.5rem 1rem 1rem}
header .narrow .menu ul{flex-direction:column;gap:0}
header .narrow .menu p{margin:.5rem 0}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem .85rem}
nav a{display:inline-block;padding:.35rem 0;white-space:nowrap}
nav a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}
@media (max-width:64rem){header .wide{display:none}header .narrow{display:block}header .bar{padding:.35rem 1rem}}
main{margin:0 auto;padding:1rem 1.5rem 2rem;overflow-wrap:break-word;max-width:120rem}
main>p,main>form>p,.login{max-width:80ch}
@media (max-width:40rem){main{padding:1rem}}
h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:2rem 0 .5rem}
a{color:var(--accent)}
table{border-collapse:collapse;width:100%;margin:0}
.table-wrap{overflow-x:auto;position:relative;margin:.5rem 0 1rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:break-word}
@media (max-width:48rem){.table-wrap>table{min-width:44rem}.table-wrap>table td{overflow-wrap:normal}.table-wrap>table td code{overflow-wrap:anywhere}.table-wrap>table td code.name{white-space:nowrap}.table-wrap>table td code.record{display:block;min-width:16rem}}
th{hyphens:manual}
thead th{border-bottom-width:2px}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre,.mono{font:.95em ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.id{font:.95em ui-monospace,Menlo,Consolas,monospace;white-space:nowrap;overflow-wrap:normal}
input.copy{font:.95em ui-monospace,Menlo,Consolas,monospace;padding:.2rem .4rem;border-width:1px;width:auto;max-width:100%}
time{white-space:nowrap}
pre{white-space:pre-wrap;background:var(--panel);padding:.5rem}
label{display:block;font-weight:600;margin:.5rem 0 .25rem}
input,select,textarea{font:inherit;padding:.45rem;border:2px solid var(--line);border-radius:4px;background:var(--bg);color:var(--fg);max-width:100%}
input[type=checkbox]{width:1.2rem;height:1.2rem;vertical-align:middle}
button,.button{font:inherit;font-weight:600;padding:.5rem 1rem;min-height:40px;border:2px solid var(--accent);border-radius:4px;background:var(--accent);color:var(--accent-fg);cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:transparent;color:var(--accent)}
button.danger{background:var(--bad);border-color:var(--bad);color:var(--bg)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
form.confirm{display:flex;flex-wrap:wrap;gap:.75rem 1rem;align-items:center;margin:1.5rem 0}
form.inline{display:inline}
td form.inline{display:inline-block;margin:0 .25rem .25rem 0}
td:has(>form.inline){white-space:nowrap}
details.menu-actions summary{font-weight:600;color:var(--accent);cursor:pointer;white-space:nowrap;padding:.2rem 0}
details.menu-actions .items{display:flex;flex-direction:column;align-items:flex-start;gap:.25rem;padding:.4rem 0}
details.menu-actions .items form.inline{margin:0}
details.menu-actions .items button{white-space:nowrap;padding:.3rem .75rem;min-height:34px}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end;margin-bottom:1rem}
form.filters label{margin:0 0 .25rem}
form.filters .grow{flex:0 1 40rem;min-width:0}
form.filters .grow input{width:100%}
.flash{padding:.75rem;border-left:4px solid var(--ok);background:var(--ok-bg);margin:0 0 1rem}
.flash.error{border-color:var(--bad);background:var(--bad-bg)}
.state{white-space:nowrap;display:inline-block;padding:0 .4rem;border-radius:3px;border:1px solid currentColor;font-size:.9em}
.state.bad{color:var(--bad)}.state.ok{color:var(--ok)}.state.warn{color:var(--warn)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:1rem;margin:1rem 0}
.card{border:1px solid var(--line);border-radius:6px;padding:.75rem;display:flex;flex-direction:column;gap:.15rem}
.card .figure{font-size:1.8rem;font-weight:700;font-variant-numeric:tabular-nums;line-height:1.2}
.card .caption{font-weight:600}
.card details.metric summary{font-size:.85rem;color:var(--muted);cursor:pointer}
.card details.metric code{font-size:.8rem;color:var(--muted);overflow-wrap:anywhere}
.muted{color:var(--muted)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dl.facts dt{font-weight:600}
dl.facts dd{margin:0;overflow-wrap:anywhere}
@media (max-width:40rem){dl.facts{grid-template-columns:minmax(0,1fr);gap:0}dl.facts dd{margin-bottom:.5rem}}
.login{max-width:28rem}
.login input{width:100%}
`;
