// The TypeScript SDK (@modelcontextprotocol/sdk, pinned in package.json) against a running
// gateway: lists templates, reads a file and an issue, completes `repo` and a path, gets every
// prompt, and on the policy-denying gateway tries the denied path. It asserts nothing: it
// prints one JSON document of what the SDK returned, and tests/python/test_ts_resources.py
// compares that with the demo seed.
//
// Usage: node resources.mjs   (MCP_URL, MCP_API_KEY; DENY_MCP_URL, DENY_MCP_API_KEY optional)

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const FILE_TEMPLATE = "gitea://{owner}/{repo}/contents/{+path}{?ref}";

async function connect(url, key) {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  const client = new Client({ name: "aegis-resources-ts-test", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

// A refusal as data: the SDK raises McpError with the JSON-RPC code and message.
async function attempt(fn) {
  try {
    return { ok: await fn() };
  } catch (e) {
    return { error: { code: e.code ?? null, message: String(e.message ?? e) } };
  }
}

const complete = (client, argument, context, ref = { type: "ref/resource", uri: FILE_TEMPLATE }) =>
  client.complete({ ref, argument, context: { arguments: context } });

const out = {};
const client = await connect(process.env.MCP_URL, process.env.MCP_API_KEY);
out.capabilities = client.getServerCapabilities();
out.templates = (await client.listResourceTemplates()).resourceTemplates;
out.file = (await client.readResource({ uri: "gitea://acme/app/contents/README.md" })).contents;
out.issue = (await client.readResource({ uri: "gitea://acme/app/issues/4" })).contents;
out.repoCompletion = (await complete(client, { name: "repo", value: "" }, { owner: "acme" })).completion;
out.pathCompletion = (await complete(client, { name: "path", value: "src/ha" }, { owner: "acme", repo: "app" })).completion;
out.prompts = (await client.listPrompts()).prompts;
out.promptResults = {
  review_pull_request: await client.getPrompt({ name: "review_pull_request", arguments: { owner: "acme", repo: "app", pull_number: "6" } }),
  triage_open_issues: await client.getPrompt({ name: "triage_open_issues", arguments: { owner: "acme", repo: "app" } }),
  summarize_changes: await client.getPrompt({ name: "summarize_changes", arguments: { owner: "acme", repo: "app", base: "main", head: "feature/search" } }),
  draft_release_notes: await client.getPrompt({ name: "draft_release_notes", arguments: { owner: "acme", repo: "app" } }),
};
out.unknown = await attempt(() => client.readResource({ uri: "gitea://acme/app/issues/999" }));
// The same client object keeps working after a refusal.
out.afterRefusal = (await client.listResourceTemplates()).resourceTemplates.length;
await client.close();

if (process.env.DENY_MCP_URL) {
  const denying = await connect(process.env.DENY_MCP_URL, process.env.DENY_MCP_API_KEY);
  out.denied = await attempt(() => denying.readResource({ uri: "gitea://acme/app/contents/src/auth.rs" }));
  out.deniedCompletion = (await complete(denying, { name: "path", value: "src/" }, { owner: "acme", repo: "app" })).completion;
  await denying.close();
}

process.stdout.write(JSON.stringify(out));
