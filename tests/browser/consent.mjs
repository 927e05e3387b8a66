// Drives Debian's chromium (headless, through playwright-core; no browser download) over the
// gateway's consent page for tests/python/test_consent_browser.py, which starts the servers,
// passes the URLs as JSON on stdin and asserts on the JSON this prints on stdout.
//
// Input:  {authorizeUrl, redirectUri, framingPageUrl, controlUrl, timeoutMs}
// Output: {consent: {...}, approve: {...}, framing: {...}}; exit 1 with {error} on failure.

import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function consentAndApprove(context, input) {
  const page = await context.newPage();
  const navigations = [];
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && r.frame() === page.mainFrame()) {
      navigations.push({ url: r.url(), status: r.status(), method: r.request().method() });
    }
  });
  const response = await page.goto(input.authorizeUrl, { waitUntil: 'load' });
  const headers = response.headers();
  const consent = {
    status: response.status(),
    xFrameOptions: headers['x-frame-options'] ?? null,
    csp: headers['content-security-policy'] ?? null,
    title: await page.title(),
    clientName: await page.locator('#client-name').innerText(),
    redirectHost: await page.locator('#redirect-host').innerText(),
    scopes: await page.locator('#scopes li').allInnerTexts(),
    approveVisible: await page.locator('#approve').isVisible(),
    denyVisible: await page.locator('#deny').isVisible(),
    // The CSRF cookie is HttpOnly: script on the page cannot read it.
    scriptCookies: await page.evaluate(() => document.cookie),
    cookies: (await context.cookies()).map((c) => ({
      name: c.name, path: c.path, httpOnly: c.httpOnly, sameSite: c.sameSite,
    })),
  };
  // Click Approve like a user; the browser follows 303s through Gitea and our callback
  // until it lands on the client's loopback redirect URI.
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(input.redirectUri + '?'), { timeout: input.timeoutMs }),
    page.locator('#approve').click(),
  ]);
  await page.waitForLoadState('load');
  const approve = {
    finalUrl: page.url(),
    finalText: await page.locator('body').innerText(),
    navigations,
  };
  await page.close();
  return { consent, approve };
}

async function framing(context, input) {
  const page = await context.newPage();
  const messages = [];
  page.on('console', (m) => messages.push(m.text()));
  await page.goto(input.framingPageUrl, { waitUntil: 'load' });
  // Both iframes have fired `load` (an error page loads too); give Chromium a moment to
  // report the refusal on the console.
  await page.waitForTimeout(300);
  const frames = [];
  for (const frame of page.frames()) {
    if (frame === page.mainFrame()) continue;
    const element = await frame.frameElement();
    let text = null;
    let approveButtons = null;
    try {
      text = await frame.locator('body').innerText({ timeout: 1000 });
      approveButtons = await frame.locator('#approve').count();
    } catch (e) {
      text = `unreadable: ${e.message.split('\n')[0]}`;
    }
    frames.push({
      id: await element.getAttribute('id'),
      src: await element.getAttribute('src'),
      url: frame.url(),
      text,
      approveButtons,
    });
  }
  await page.close();
  return { mainUrl: input.framingPageUrl, frames, console: messages };
}

async function main() {
  const input = await readStdin();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: input.timeoutMs,
  });
  try {
    const context = await browser.newContext();
    context.setDefaultTimeout(input.timeoutMs);
    const { consent, approve } = await consentAndApprove(context, input);
    // A fresh profile for the attack page: nothing carried over from the approval.
    const attacker = await browser.newContext();
    attacker.setDefaultTimeout(input.timeoutMs);
    const framed = await framing(attacker, input);
    process.stdout.write(JSON.stringify({ version: browser.version(), consent, approve, framing: framed }));
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ error: String(e && e.stack ? e.stack : e) }));
  process.exit(1);
});
