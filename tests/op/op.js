#!/usr/bin/env node
// A real OpenID Provider (panva/oidc-provider 9.x) configured like CoinPay, for the
// mod_coinpay_auth e2e tests, the browser test and the demo. Not for production use.
//
//   node op.js --port 9090 --key-file /tmp/op-key.json \
//        --client '{"client_id":"demo","client_secret":"s3cret","redirect_uris":["http://127.0.0.1:8080/api/auth/callback/coinpay"]}'
//
// Options (each also readable from the environment variable in brackets):
//   --port N                 [OP_PORT]        listen on 127.0.0.1:N (0 = pick a free port; default 0)
//   --host H                 [OP_HOST]        bind address (default 127.0.0.1)
//   --issuer URL             [OP_ISSUER]      issuer (default http://127.0.0.1:<port>)
//   --key-file PATH          [OP_KEY_FILE]    RS256 signing key as a JWKS file; generated once if absent
//   --clients-file PATH      [OP_CLIENTS_FILE] JSON array of client metadata
//   --client JSON            (repeatable)     one client's metadata as JSON
//   --access-token-ttl S     [OP_ACCESS_TOKEN_TTL]   default 3600
//   --refreshed-access-token-ttl S [OP_REFRESHED_ACCESS_TOKEN_TTL] lifetime of access tokens
//                                            issued by the refresh_token grant (default: as above)
//   --id-token-ttl S         [OP_ID_TOKEN_TTL]       default 3600
//   --refresh-token-ttl S    [OP_REFRESH_TOKEN_TTL]  default 86400
//   --auto-consent           [OP_AUTO_CONSENT=1]     skip the consent screen (login form only)
//   --conform-id-token-claims [OP_CONFORM_ID_TOKEN_CLAIMS=1] put email/profile claims only in
//                                            userinfo (oidc-provider's default), not in the ID token
//   --acr-values "A B ..."   [OP_ACR_VALUES]  step-up tests: advertise these acr values; every sign-in
//                                            gets one (below), ID tokens always carry auth_time, and
//                                            JWT access tokens carry acr and auth_time (RFC 9470)
//   --par                    [OP_PAR=1]      offer pushed authorization requests (RFC 9126) at
//                                            /oauth/par (off by default here, so the default
//                                            discovery document stays as the other tests expect)
//   --require-par            [OP_REQUIRE_PAR=1] with --par: refuse authorization requests that
//                                            were not pushed (require_pushed_authorization_requests)
//   --dpop-require-nonce     [OP_DPOP_REQUIRE_NONCE=1] DPoP (on by default in oidc-provider 9:
//                                            a proof binds the token) with a server nonce required
//                                            in every proof (RFC 9449 section 8: use_dpop_nonce)
//   --client-credentials     [OP_CLIENT_CREDENTIALS=1] enable the client_credentials grant (for
//                                            clients that list it in grant_types)
//   --quiet                                  do not log each request to stderr
//
// Client metadata: client_id, client_secret, redirect_uris, post_logout_redirect_uris,
// token_endpoint_auth_method (client_secret_basic | client_secret_post | private_key_jwt, the
// last with "jwks" inline or a "jwks_uri" such as the module's SetHandler coinpay-jwks), grant_types
// (default authorization_code + refresh_token), backchannel_logout_uri, ...
//
// Login (devInteractions): any login and any password; the login becomes `sub`, the email is
// `<login>@example-business.com` (verified), the name is the login.
// With --acr-values, the login name chooses the acr: `alice+strong` signs in as `alice` with the
// value whose last `:`-separated part is `strong` (e.g. urn:coinpay:acr:strong); a plain `alice`
// gets the first value. Without the option, logins stay as above and no acr is issued.
//
// Prints `OP READY <issuer>` on stdout once listening.
// Test-only routes (never in a real provider):
//   GET  /__test/stats   JSON counters (token calls by grant_type, revocations, refresh tokens seen,
//                        pushed requests, client assertions by endpoint, the parameter names of
//                        each authorization request...)
//   POST /__test/reset   zero the counters
//   POST /__test/control JSON {"refresh_delay_ms": N}: hold every refresh_token grant's answer
//                        N ms after the grant is done (the old token spent, the new one issued
//                        and counted in the stats), as a slow network would; 0 = answer at once.
//                        Other grants are not delayed. Kept until changed (reset leaves it).
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      issuer: { type: 'string' },
      'key-file': { type: 'string' },
      'clients-file': { type: 'string' },
      client: { type: 'string', multiple: true },
      'access-token-ttl': { type: 'string' },
      'refreshed-access-token-ttl': { type: 'string' },
      'id-token-ttl': { type: 'string' },
      'refresh-token-ttl': { type: 'string' },
      'auto-consent': { type: 'boolean' },
      'conform-id-token-claims': { type: 'boolean' },
      'acr-values': { type: 'string' },
      par: { type: 'boolean' },
      'require-par': { type: 'boolean' },
      'dpop-require-nonce': { type: 'boolean' },
      'client-credentials': { type: 'boolean' },
      quiet: { type: 'boolean' },
    },
    strict: true,
  });
  const env = process.env;
  const opt = (name, envName, dflt) => values[name] ?? env[envName] ?? dflt;

  const host = opt('host', 'OP_HOST', '127.0.0.1');
  const port = Number(opt('port', 'OP_PORT', '0'));
  const keyFile = opt('key-file', 'OP_KEY_FILE', path.join(os.tmpdir(), 'coinpay-test-op-signing-key.json'));
  const accessTtl = Number(opt('access-token-ttl', 'OP_ACCESS_TOKEN_TTL', '3600'));
  const refreshedTtlOpt = opt('refreshed-access-token-ttl', 'OP_REFRESHED_ACCESS_TOKEN_TTL');
  const refreshedTtl = refreshedTtlOpt === undefined ? undefined : Number(refreshedTtlOpt);
  const idTtl = Number(opt('id-token-ttl', 'OP_ID_TOKEN_TTL', '3600'));
  const refreshTtl = Number(opt('refresh-token-ttl', 'OP_REFRESH_TOKEN_TTL', '86400'));
  const autoConsent = Boolean(values['auto-consent'] || env.OP_AUTO_CONSENT === '1');
  const quiet = Boolean(values.quiet);
  const par = Boolean(values.par || env.OP_PAR === '1');
  const requirePar = Boolean(values['require-par'] || env.OP_REQUIRE_PAR === '1');
  const conformIdTokenClaims = Boolean(values['conform-id-token-claims'] || env.OP_CONFORM_ID_TOKEN_CLAIMS === '1');
  const acrValues = String(opt('acr-values', 'OP_ACR_VALUES', '')).split(' ').filter(Boolean);
  const dpopRequireNonce = Boolean(values['dpop-require-nonce'] || env.OP_DPOP_REQUIRE_NONCE === '1');
  const clientCredentials = Boolean(values['client-credentials'] || env.OP_CLIENT_CREDENTIALS === '1');

  // ---- clients ---------------------------------------------------------------------------
  let clients = [];
  const clientsFile = opt('clients-file', 'OP_CLIENTS_FILE');
  if (clientsFile) clients = clients.concat(JSON.parse(fs.readFileSync(clientsFile, 'utf8')));
  for (const c of values.client ?? []) clients.push(JSON.parse(c));
  clients = clients.map((c) => ({
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    // Step-up tests: auth_time in every ID token, not only when max_age is asked for.
    ...(acrValues.length ? { require_auth_time: true } : undefined),
    ...c,
  }));
  if (clients.length === 0) {
    console.error('op.js: no clients configured (use --client JSON or --clients-file)');
    process.exit(2);
  }

  // ---- signing key (persisted, so a restart keeps relying parties' JWKS caches valid) -------
  let jwks;
  if (fs.existsSync(keyFile)) {
    jwks = JSON.parse(fs.readFileSync(keyFile, 'utf8'));
  } else {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = privateKey.export({ format: 'jwk' });
    const thumb = crypto.createHash('sha256')
      .update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n })).digest('base64url');
    jwks = { keys: [{ ...jwk, kid: thumb.slice(0, 16), alg: 'RS256', use: 'sig' }] };
    fs.writeFileSync(keyFile, JSON.stringify(jwks), { mode: 0o600 });
  }

  // ---- bind first (port 0 supported), then build the provider with the real issuer ---------
  let handler = (req, res) => { res.statusCode = 503; res.end(); };
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const boundPort = server.address().port;
  const issuer = opt('issuer', 'OP_ISSUER', `http://${host}:${boundPort}`);

  const { default: Provider } = await import('oidc-provider');

  const configuration = {
    clients,
    jwks,
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    routes: {
      authorization: '/oauth/authorize',
      token: '/oauth/token',
      userinfo: '/oauth/userinfo',
      revocation: '/oauth/revoke',
      end_session: '/oauth/logout',
      introspection: '/oauth/introspect',
      jwks: '/.well-known/jwks.json',
      pushed_authorization_request: '/oauth/par',
    },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'wallet'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username', 'picture'],
      // NetworkCoin.ID's wallet scope: the user's wallet address, served at userinfo.
      wallet: ['wallet_address'],
    },
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            email: `${sub}@example-business.com`,
            email_verified: true,
            picture: `https://example-business.com/avatars/${encodeURIComponent(sub)}.png`,
            wallet_address: `0x${crypto.createHash('sha256').update(sub).digest('hex').slice(0, 40)}`,
            name: sub,
            preferred_username: sub,
          };
        },
      };
    },
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      backchannelLogout: { enabled: true },
      // oidc-provider enables PAR by default; here only with --par (see the option).
      pushedAuthorizationRequests: { enabled: par, requirePushedAuthorizationRequests: requirePar },
      // oidc-provider 9's default (a DPoP proof binds the token), with nonces only on request.
      dPoP: dpopRequireNonce
        ? { enabled: true, nonceSecret: crypto.randomBytes(32), requireNonce: () => true }
        : { enabled: true },
      clientCredentials: { enabled: clientCredentials },
      resourceIndicators: {
        enabled: true,
        // Requests without `resource` keep the default (opaque access token for userinfo).
        // A `resource` parameter (RFC 8707) gets an RS256 JWT access token with that audience.
        async getResourceServerInfo(ctx, resourceIndicator) {
          return {
            scope: 'openid email profile read:documents write:documents payments',
            audience: resourceIndicator,
            accessTokenTTL: accessTtl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // Test-only: the relying parties here listen on loopback, which oidc-provider's SSRF guard
    // refuses to call (back-channel logout); drop the guard's dispatcher for this local OP.
    fetch: (url, options) => {
      delete options.dispatcher;
      return globalThis.fetch(url, options);
    },
    pkce: { required: () => true }, // and oidc-provider 9 only supports S256
    // Issue a refresh token whenever the client may use the refresh_token grant, so a relying
    // party asking for offline_access gets one without having to force prompt=consent.
    async issueRefreshToken(ctx, client) {
      return client.grantTypeAllowed('refresh_token');
    },
    rotateRefreshToken: true,
    // By default the ID token carries the email/profile claims granted (as CoinPay's sample
    // flow expects: "use the ID token to create a local session").
    conformIdTokenClaims,
    ttl: {
      AccessToken: refreshedTtl === undefined ? accessTtl
        : (ctx, token) => token.resourceServer?.accessTokenTTL
          ?? (ctx?.oidc?.params?.grant_type === 'refresh_token' ? refreshedTtl : accessTtl),
      IdToken: idTtl,
      RefreshToken: refreshTtl,
      AuthorizationCode: 60,
      Grant: 14 * 24 * 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
    },
  };

  if (acrValues.length) {
    configuration.acrValues = acrValues;
    // In every ID token, whatever the request asked for.
    configuration.claims.openid = ['sub', 'acr', 'auth_time'];
    // RFC 9470 needs the authentication's acr and time in the access token too.
    configuration.extraTokenClaims = async (ctx) => {
      const source = ctx?.oidc?.entities?.AuthorizationCode ?? ctx?.oidc?.entities?.RefreshToken;
      if (!source) return undefined;
      return { acr: source.acr, auth_time: source.authTime };
    };
  }

  if (autoConsent) {
    // Give every client all it asks for: only the login form is shown.
    configuration.loadExistingGrant = async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      if (!grant) {
        grant = new ctx.oidc.provider.Grant({
          clientId: ctx.oidc.client.clientId,
          accountId: ctx.oidc.session.accountId,
        });
      }
      grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(' ')
        : 'openid email profile offline_access');
      grant.addOIDCClaims([...(ctx.oidc.requestParamClaims ?? [])]);
      if (ctx.oidc.resourceServers) {
        for (const [indicator, rs] of Object.entries(ctx.oidc.resourceServers)) {
          grant.addResourceScope(indicator, rs.scope);
        }
      }
      await grant.save();
      return grant;
    };
  }

  const provider = new Provider(issuer, configuration);
  provider.proxy = false;

  if (acrValues.length) {
    // devInteractions finishes a login with { login: { accountId } }: the login name's
    // `+<name>` suffix picks the acr (see the header), and is not part of the account.
    const finish = provider.interactionFinished.bind(provider);
    provider.interactionFinished = async (req, res, result, options) => {
      const login = result?.login;
      if (login && typeof login.accountId === 'string' && login.acr === undefined) {
        const plus = login.accountId.lastIndexOf('+');
        const wanted = plus > 0 ? login.accountId.slice(plus + 1) : undefined;
        const chosen = wanted && acrValues.find((v) => v === wanted || v.endsWith(`:${wanted}`));
        if (chosen) login.accountId = login.accountId.slice(0, plus);
        login.acr = chosen ?? acrValues[0];
      }
      return finish(req, res, result, options);
    };
  }

  // ---- test-only counters ------------------------------------------------------------------
  const fresh = () => ({
    token_calls: {},            // grant_type -> count (including failed calls)
    token_errors: {},           // grant_type -> count of non-2xx answers
    revocations: 0,             // calls to the revocation endpoint
    revoked_tokens: [],         // token values presented there
    introspections: 0,
    userinfo_calls: 0,
    end_session_calls: 0,
    jwks_fetches: 0,
    discovery_fetches: 0,
    authorize_calls: 0,
    refresh_tokens_issued: [],  // refresh_token values returned by the token endpoint
    refresh_tokens_presented: [], // refresh_token values presented with grant_type=refresh_token
    refresh_tokens_seen: [],    // union of the two above, in order
    par_calls: 0,               // pushed authorization requests (RFC 9126), any outcome
    par_errors: 0,              // ... answered with an error
    client_assertions: {},      // route -> requests that authenticated with a client_assertion
    client_auth_errors: {},     // route -> requests refused with invalid_client
    authorize_param_names: [],  // for each authorization request, its query's parameter names
    token_types: {},            // token_type of successful token answers (Bearer, DPoP) -> count
    dpop_token_calls: 0,        // token calls that carried a DPoP proof
    userinfo_errors: 0,         // userinfo answers other than 2xx
  });
  let stats = fresh();
  const control = { refresh_delay_ms: 0 };
  const readJson = (req) => new Promise((resolve, reject) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { raw += c; });
    req.on('end', () => { try { resolve(raw ? JSON.parse(raw) : {}); } catch (e) { reject(e); } });
    req.on('error', reject);
  });
  const seen = (t) => { if (t && !stats.refresh_tokens_seen.includes(t)) stats.refresh_tokens_seen.push(t); };

  provider.use(async (ctx, next) => {
    if (ctx.path === '/__test/stats' && ctx.method === 'GET') {
      ctx.type = 'application/json';
      ctx.body = JSON.stringify(stats);
      return;
    }
    if (ctx.path === '/__test/reset' && ctx.method === 'POST') {
      stats = fresh();
      ctx.status = 204;
      return;
    }
    if (ctx.path === '/__test/control' && ctx.method === 'POST') {
      let req;
      try {
        req = await readJson(ctx.req);
      } catch (e) {
        ctx.status = 400;
        ctx.body = { error: String(e) };
        return;
      }
      if (req.refresh_delay_ms !== undefined) control.refresh_delay_ms = Number(req.refresh_delay_ms) || 0;
      ctx.type = 'application/json';
      ctx.body = JSON.stringify(control);
      return;
    }
    const started = Date.now();
    await next();
    const route = ctx.oidc?.route;
    const params = ctx.oidc?.params ?? {};
    // The form as sent (a PAR request's params are the authorization parameters only).
    if (route && (params.client_assertion || ctx.oidc?.body?.client_assertion)) {
      stats.client_assertions[route] = (stats.client_assertions[route] ?? 0) + 1;
    }
    if (route && ctx.status === 401 && ctx.body && ctx.body.error === 'invalid_client') {
      stats.client_auth_errors[route] = (stats.client_auth_errors[route] ?? 0) + 1;
    }
    switch (route) {
      case 'token': {
        const gt = String(params.grant_type ?? 'unknown');
        stats.token_calls[gt] = (stats.token_calls[gt] ?? 0) + 1;
        if (ctx.status >= 300) stats.token_errors[gt] = (stats.token_errors[gt] ?? 0) + 1;
        if (gt === 'refresh_token' && params.refresh_token) {
          stats.refresh_tokens_presented.push(params.refresh_token);
          seen(params.refresh_token);
        }
        const body = ctx.body;
        if (ctx.get('DPoP')) stats.dpop_token_calls += 1;
        if (ctx.status < 300 && body && typeof body === 'object' && body.token_type) {
          stats.token_types[body.token_type] = (stats.token_types[body.token_type] ?? 0) + 1;
        }
        if (ctx.status < 300 && body && typeof body === 'object' && body.refresh_token) {
          stats.refresh_tokens_issued.push(body.refresh_token);
          seen(body.refresh_token);
        }
        if (gt === 'refresh_token' && control.refresh_delay_ms > 0) {
          await new Promise((resolve) => { setTimeout(resolve, control.refresh_delay_ms); });
        }
        break;
      }
      case 'revocation':
        stats.revocations += 1;
        if (params.token) stats.revoked_tokens.push(params.token);
        break;
      case 'introspection': stats.introspections += 1; break;
      case 'userinfo':
        stats.userinfo_calls += 1;
        if (ctx.status >= 300) stats.userinfo_errors += 1;
        break;
      case 'end_session': stats.end_session_calls += 1; break;
      case 'jwks': stats.jwks_fetches += 1; break;
      case 'discovery': stats.discovery_fetches += 1; break;
      case 'authorization':
        stats.authorize_calls += 1;
        stats.authorize_param_names.push(Object.keys(ctx.query).sort());
        break;
      case 'pushed_authorization_request':
        stats.par_calls += 1;
        if (ctx.status >= 300) stats.par_errors += 1;
        break;
      default: break;
    }
    if (!quiet) {
      const why = ctx.status >= 400 && ctx.body && ctx.body.error
        ? ` ${ctx.body.error}: ${ctx.body.error_description ?? ''}` : '';
      process.stderr.write(`op: ${ctx.method} ${ctx.path} -> ${ctx.status}${why} (${Date.now() - started} ms)\n`);
    }
  });

  provider.on('server_error', (ctx, err) => { process.stderr.write(`op: server_error ${err.stack}\n`); });
  provider.on('backchannel.error', (ctx, err, client) => { process.stderr.write(`op: backchannel logout to ${client.clientId} failed: ${err.message} ${err.cause ? err.cause.message || err.cause.code : ""}\n`); });

  handler = provider.callback();
  process.stdout.write(`OP READY ${issuer}\n`);

  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
