// A real OpenID Connect provider (panva/oidc-provider, certified by the OpenID Foundation) for the
// login browser test, on loopback only. Not for production: its accounts are the static test
// accounts given on the command line, and signing in needs only their e-mail address.
//
//   node provider.js --port 4010 --redirect-uri http://127.0.0.1:8501/oauth2callback \
//        --client-id explainers --client-secret test-secret \
//        --accounts '{"alice@example.org": "Alice Martin"}'
//
// It prints "oidc-provider listening on <issuer>" once it accepts requests (the test waits for it).
// The sign-in page (GET /interaction/<uid>) has one e-mail field and a "Sign in" button; an
// address that is not a test account is refused on that page. Consent is given automatically,
// like a company identity provider whose apps are pre-approved.

import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';

import Provider, { interactionPolicy } from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    'redirect-uri': { type: 'string' },
    'client-id': { type: 'string', default: 'explainers' },
    'client-secret': { type: 'string', default: 'test-secret' },
    accounts: { type: 'string', default: '{}' },
  },
});
if (!args.port || !args['redirect-uri']) {
  console.error('usage: node provider.js --port PORT --redirect-uri URI [--client-id ID] [--client-secret S] '
    + '[--accounts JSON of {e-mail: name}]');
  process.exit(2);
}
if (!['127.0.0.1', 'localhost', '::1'].includes(args.host)) {
  console.error(`refusing to listen on ${args.host}: this test provider is for loopback only`);
  process.exit(2);
}
const ACCOUNTS = Object.fromEntries(
  Object.entries(JSON.parse(args.accounts)).map(([email, name]) => [email.toLowerCase(), name]));
const issuer = `http://${args.host}:${args.port}`;

// Streamlit asks for prompt=select_account (Google's account chooser); offer it like "login".
const policy = interactionPolicy.base();
policy.add(new interactionPolicy.Prompt({ name: 'select_account', requestable: true }), 0);

// A fresh signing key each start: nothing secret is ever written to disk.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

const provider = new Provider(issuer, {
  clients: [{
    client_id: args['client-id'],
    client_secret: args['client-secret'],
    redirect_uris: [args['redirect-uri']],
    post_logout_redirect_uris: [args['redirect-uri']],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' }] },
  cookies: { keys: ['loopback-test-only'] },
  ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600 },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // Streamlit reads the identity from the ID token, so the scope's claims go into it.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    if (!(id in ACCOUNTS)) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: true, name: ACCOUNTS[id] };
      },
    };
  },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function signInPage(uid, clientId, error = '', email = '') {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Test identity provider: sign in</title></head>
<body style="font-family: sans-serif; max-width: 28em; margin: 3em auto">
<h1>Sign in</h1>
<p>to <b>${escape(clientId)}</b> (test provider on loopback)</p>
${error ? `<p role="alert" style="color: #b00">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}">
  <label>E-mail <input type="email" name="email" value="${escape(email)}" required autofocus></label>
  <button type="submit">Sign in</button>
</form></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

// The interaction pages: a Koa middleware in front of the provider's own routes.
provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)$/);
  if (!match) return next();
  const { uid, prompt, params, session } = await provider.interactionDetails(ctx.req, ctx.res);
  ctx.set('cache-control', 'no-store');
  if (prompt.name === 'consent') {
    const grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    ctx.respond = false;
    return undefined;
  }
  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = signInPage(uid, params.client_id);
    return undefined;
  }
  const email = ((await readForm(ctx.req)).get('email') || '').trim().toLowerCase();
  if (!(email in ACCOUNTS)) {
    ctx.status = 200;
    ctx.type = 'html';
    ctx.body = signInPage(uid, params.client_id, `${email || 'An empty address'} is not a test account here.`, email);
    return undefined;
  }
  // Choosing the account answers both the login and the select_account prompts.
  const result = { login: { accountId: email }, select_account: {} };
  await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.respond = false;
  return undefined;
});

const server = provider.listen(Number(args.port), args.host, () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
