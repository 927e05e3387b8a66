// One agent on the official MCP TypeScript SDK (npm @modelcontextprotocol/sdk, pinned in
// package.json), as the client matrix drives it: the same JSON plan and report as
// tests/python/sdk_client.py (read its docstring), run by tests/python/test_client_matrix.py
// under the Node 22 of node_modules/node.
//
// In addition the report carries what only this SDK shows:
//   warnings    everything written through console.warn during the run (the SDK warns, for
//               example, on an unknown JSON Schema `format` when it compiles an outputSchema)
//   ajv         every tools/list inputSchema and outputSchema compiled with the Ajv the SDK
//               depends on, in strict mode (2020-12 dialect unless the schema names draft-07),
//               with ajv-formats: the compile errors, by tool
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const warnings = [];
console.warn = (...args) => warnings.push(args.map(String).join(' '));

// Ajv and ajv-formats as the SDK resolves them, not some other copy.
const sdkRequire = createRequire(createRequire(import.meta.url).resolve('@modelcontextprotocol/sdk/client/index.js'));
const Ajv2020 = sdkRequire('ajv/dist/2020').default;
const AjvDraft7 = sdkRequire('ajv').default;
const addFormats = sdkRequire('ajv-formats').default;
const AJV_VERSION = sdkRequire('ajv/package.json').version;
const SDK_VERSION = JSON.parse(readFileSync(new URL('./node_modules/@modelcontextprotocol/sdk/package.json', import.meta.url))).version;

const CALL_TIMEOUT_MS = 30000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const explain = (e) => `${e?.constructor?.name}: ${e?.message}` + (e?.cause ? ` (from ${explain(e.cause)})` : '');

function compileErrors(schema) {
  const draft7 = typeof schema.$schema === 'string' && schema.$schema.includes('draft-07');
  const ajv = new (draft7 ? AjvDraft7 : Ajv2020)({ strict: true });
  addFormats(ajv);
  try {
    ajv.compile(schema);
    return null;
  } catch (e) {
    return String(e.message || e);
  }
}

function describe(result) {
  const text = (result.content || []).map((b) => b.text || '').join('');
  return { outcome: 'result', is_error: result.isError === true, text: text.slice(0, 2000) };
}

async function call(client, name, args) {
  try {
    return describe(await client.callTool({ name, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS }));
  } catch (e) {
    return { outcome: 'exception', error: explain(e).slice(0, 2000) };
  }
}

// fetch that records each status (to tell a lockout from a flaky call)
function loggingFetch(seen) {
  return async (url, init) => {
    const response = await fetch(url, init);
    seen.push([init?.method || 'GET', new URL(String(url)).pathname, response.status]);
    return response;
  };
}

async function runCalls(plan) {
  const statuses = [];
  const transport = new StreamableHTTPClientTransport(new URL(plan.url), {
    requestInit: { headers: plan.headers || {} },
    fetch: loggingFetch(statuses),
  });
  const client = new Client({ name: 'aegis-client-matrix', version: '0' });
  await client.connect(transport);
  const listed = await client.listTools();
  const ajv = {};
  for (const tool of listed.tools) {
    for (const [kind, schema] of [['inputSchema', tool.inputSchema], ['outputSchema', tool.outputSchema]]) {
      if (!schema) continue;
      const error = compileErrors(schema);
      if (error) ajv[`${tool.name}.${kind}`] = error;
    }
  }
  const calls = [];
  const start = performance.now();
  for (const c of plan.calls) {
    const wait = (c.at || 0) * 1000 - (performance.now() - start);
    if (wait > 0) await sleep(wait);
    const record = await call(client, c.name, c.arguments);
    record.t = Math.round(performance.now() - start) / 1000;
    calls.push(record);
  }
  await client.close();
  return { tools: listed.tools.map((t) => t.name).sort(), calls, statuses, ajv, ajv_version: AJV_VERSION };
}

// ---- OAuth: the SDK's provider interface, and the person at the browser ----------------

class Provider {
  constructor(store, redirectUrl) {
    this.store = store;
    this.redirectUrl = redirectUrl;
    this.authorizationUrl = null;
  }
  get clientMetadata() {
    return {
      client_name: `client matrix (TS SDK ${SDK_VERSION})`,
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() { return this.store.client; }
  saveClientInformation(info) { this.store.client = info; }
  tokens() { return this.store.tokens; }
  saveTokens(tokens) { this.store.tokens = tokens; }
  redirectToAuthorization(url) { this.authorizationUrl = url; }
  saveCodeVerifier(verifier) { this.store.verifier = verifier; }
  codeVerifier() { return this.store.verifier; }
}

const unescapeHtml = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

function attributes(tag) {
  const found = {};
  for (const m of tag.matchAll(/([\w-]+)="([^"]*)"/g)) found[m[1].toLowerCase()] = unescapeHtml(m[2]);
  return found;
}

// A browser: cookies per origin, redirects followed by hand until the client's redirect URI.
// Approves the gateway's consent form (its hidden fields, the Origin a browser sends under
// the page's Referrer-Policy) and returns the query that reaches `redirectUri`.
async function approve(authorizationUrl, redirectUri) {
  const jar = new Map();
  const send = async (url, init = {}) => {
    const origin = new URL(url).origin;
    const headers = { ...(init.headers || {}) };
    if (jar.get(origin)) headers.cookie = [...jar.get(origin).entries()].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      if (!jar.has(origin)) jar.set(origin, new Map());
      jar.get(origin).set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    return response;
  };
  const page = await send(authorizationUrl);
  const html = await page.text();
  if (page.status !== 200) throw new Error(`consent page: ${page.status} ${html.slice(0, 300)}`);
  const form = attributes(html.match(/<form\b[^>]*>/i)[0]);
  const fields = { decision: 'approve' };
  for (const m of html.matchAll(/<input\b[^>]*>/gi)) {
    const a = attributes(m[0]);
    if (a.type === 'hidden') fields[a.name] = a.value ?? '';
  }
  const policies = (page.headers.get('referrer-policy') || '').split(',').map((p) => p.trim().toLowerCase()).filter(Boolean);
  const formOrigin = policies.at(-1) === 'no-referrer' ? 'null' : new URL(authorizationUrl).origin;
  let url = new URL(form.action, authorizationUrl).href;
  let response = await send(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: formOrigin },
    body: new URLSearchParams(fields).toString(),
  });
  for (let hop = 0; hop < 10 && [301, 302, 303, 307, 308].includes(response.status); hop++) {
    url = new URL(response.headers.get('location'), url).href;
    if (url.startsWith(`${redirectUri}?`)) return Object.fromEntries(new URL(url).searchParams);
    response = await send(url);
  }
  throw new Error(`the flow ended at ${url} with ${response.status}`);
}

async function runOAuth(plan) {
  const spec = plan.oauth;
  const statuses = [];
  const redirectUri = 'http://127.0.0.1:1/callback'; // never fetched: approve() stops at it
  const stored = {};
  const connections = [];
  for (let i = 0; i <= spec.reconnects; i++) {
    const fresh = i === 0 || i % spec.fresh_every === 0;
    const store = fresh ? { client: stored.client } : stored;
    const record = { fresh, sign_ins: 0 };
    try {
      const provider = new Provider(store, redirectUri);
      const open = async () => {
        const transport = new StreamableHTTPClientTransport(new URL(plan.url), { authProvider: provider, fetch: loggingFetch(statuses) });
        const client = new Client({ name: 'aegis-client-matrix', version: '0' });
        await client.connect(transport);
        return { client, transport };
      };
      let session;
      try {
        session = await open();
      } catch (e) {
        // The SDK's own sign-in: 401 -> discovery -> (registration) -> redirectToAuthorization,
        // then UnauthorizedError; the app passes the code back with finishAuth and reconnects.
        if (!(e instanceof UnauthorizedError) || !provider.authorizationUrl) throw e;
        const got = await approve(provider.authorizationUrl.href, redirectUri);
        if (!got.code) throw new Error(`authorization refused: ${JSON.stringify(got)}`);
        record.sign_ins += 1;
        const transport = new StreamableHTTPClientTransport(new URL(plan.url), { authProvider: provider, fetch: loggingFetch(statuses) });
        await transport.finishAuth(got.code);
        session = await open();
      }
      Object.assign(record, await call(session.client, spec.call.name, spec.call.arguments));
      await session.client.close();
    } catch (e) {
      Object.assign(record, { outcome: 'exception', error: explain(e).slice(0, 2000) });
    }
    connections.push(record);
    if (store !== stored) Object.assign(stored, { tokens: store.tokens, client: store.client });
  }
  return { connections, statuses };
}

const plan = JSON.parse(process.argv[2]);
let report;
try {
  report = await (plan.oauth ? runOAuth(plan) : runCalls(plan));
} catch (e) {
  report = { fatal: explain(e).slice(0, 4000) };
}
report.sdk = `@modelcontextprotocol/sdk ${SDK_VERSION}`;
report.warnings = warnings;
// exit only once the report is flushed: a pipe takes large writes asynchronously
process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(0));
