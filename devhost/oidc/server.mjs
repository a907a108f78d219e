// The local OpenID Connect provider devhost runs as the `dev` sign-in provider (npm oauth2-mock-server).
//
// Usage: node devhost/oidc/server.mjs --port 7072 [--host 127.0.0.1] [--issuer URL] [--key-file jwk.json]
//
// - The issuer is `--issuer` (default http://localhost:PORT) so it matches DEV_OIDC_ISSUER exactly.
// - `--key-file`: a private RSA JWK (with `kid`) to sign with, so tests can mint tokens with the same
//   key; without it a fresh RS256 key is generated on each start.
// - GET /authorize without `login_hint` answers a tiny page asking whom to sign in as; with it, the
//   ID token of that code carries sub/email/name derived from the hint (an e-mail or a user name).
//   So a person running `make run` can sign in as anyone, which is exactly why production refuses it.
// Prints one line `OIDC_READY <issuer>` on stdout when listening.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';

function parseArgs(argv) {
  const args = { port: 7072, host: '127.0.0.1', issuer: undefined, keyFile: undefined };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (name === '--port') args.port = Number(value);
    else if (name === '--host') args.host = value;
    else if (name === '--issuer') args.issuer = value;
    else if (name === '--key-file') args.keyFile = value;
    else throw new Error(`unknown argument ${name}`);
  }
  return args;
}

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// The identity a login_hint stands for: "alice@example.com" or "alice" (-> alice@dev.localhost).
function identityFor(hint) {
  const cleaned = hint.trim().toLowerCase().slice(0, 200);
  const email = cleaned.includes('@') ? cleaned : `${cleaned}@dev.localhost`;
  const name = email.split('@')[0];
  return { sub: `dev|${email}`, email, email_verified: true, name };
}

function loginPage(query) {
  const hidden = Object.entries(query)
    .filter(([k]) => k !== 'login_hint')
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('');
  return `<!doctype html><meta charset="utf-8"><title>Tagarela dev sign-in</title>
<body style="font-family:sans-serif;max-width:28em;margin:4em auto">
<h1>Development sign-in</h1><p>Local only: sign in as whoever you type.</p>
<form method="get" action="/authorize">${hidden}
<label>E-mail or user name <input name="login_hint" required autofocus></label>
<button type="submit">Sign in</button></form></body>`;
}

const args = parseArgs(process.argv.slice(2));
const issuer = new OAuth2Issuer();
if (args.keyFile) await issuer.keys.add(JSON.parse(readFileSync(args.keyFile, 'utf8')));
else await issuer.keys.generate('RS256');
const service = new OAuth2Service(issuer);
const identities = new Map(); // authorization code -> identity of its login_hint

service.on('beforeAuthorizeRedirect', (redirect, req) => {
  const hint = new URL(req.url, 'http://x').searchParams.get('login_hint');
  const code = redirect.url.searchParams.get('code');
  if (hint && code) identities.set(code, identityFor(hint));
});
service.on('beforeTokenSigning', (token, req) => {
  const code = req.body && req.body.code;
  const identity = code ? identities.get(code) : undefined;
  if (identity) Object.assign(token.payload, identity);
  // The ID token is the second token built for a code; forget the code once it carries a nonce/aud.
  if (identity && token.payload.aud !== undefined && token.payload.scope === undefined) identities.delete(code);
});

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'GET' && url.pathname === '/authorize' && !url.searchParams.get('login_hint')) {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(loginPage(Object.fromEntries(url.searchParams)));
    return;
  }
  service.requestHandler(req, res);
});
server.listen(args.port, args.host, () => {
  issuer.url = args.issuer ?? `http://localhost:${server.address().port}`;
  process.stdout.write(`OIDC_READY ${issuer.url}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
