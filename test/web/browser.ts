import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { request } from '../support/http';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.resolve(__dirname, 'screenshots');
const UI_INDEX = path.resolve(__dirname, '..', '..', 'services', 'web', 'dist', 'public', 'index.html');

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 360, height: 740 };

/**
 * Debian's Chromium, headless. Playwright starts it with a fresh temporary --user-data-dir of its
 * own (it refuses the flag in `args`; that is for launchPersistentContext), removed at close.
 */
export async function launchBrowser(): Promise<{ browser: Browser; close(): Promise<void> }> {
  if (!existsSync(UI_INDEX)) throw new Error(`The web UI is not built (${UI_INDEX}): run \`npm run build -w @evshare/web\` first`);
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: run \`bash test/support/chromium.sh\` or set CHROMIUM_PATH`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return { browser, close: () => browser.close() };
}

/** A context (own cookies) whose page reports script errors and CSP violations to `errors`. */
export async function openPage(browser: Browser, baseURL: string, viewport = DESKTOP): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ baseURL, viewport, locale: 'zh-CN' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // A refused request (blocked /push, a 4xx shown to the member) is logged by Chromium as an error; CSP violations are what matter.
    if (message.type() === 'error' && /Content Security Policy|Refused to/.test(message.text())) errors.push(`console: ${message.text()}`);
  });
  return { context, page, errors };
}

/** Saves the page at desktop and phone width (test/web/screenshots, gitignored). */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const original = page.viewportSize() ?? DESKTOP;
  for (const [label, size] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    await page.setViewportSize(size);
    // Nothing may stick out sideways at either width.
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    if (overflow > 1) throw new Error(`${name} at ${label} width overflows horizontally by ${overflow}px`);
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(original);
}

/**
 * The visible text of the page without data (elements marked translate="no": station names,
 * plates, the language names on the switch) and without the `data` strings, to check that no
 * Chinese UI text remains. Labels and tooltips count: a screen reader reads them.
 */
export async function uiTextWithoutData(page: Page, data: string[] = []): Promise<string> {
  // A string, evaluated in the page (the tests are compiled without the DOM library). innerText
  // needs layout, so the clone is measured inside the document for a moment.
  const text = await page.evaluate<string>(`(() => {
    const clone = document.body.cloneNode(true);
    clone.querySelectorAll('[translate="no"], script, style').forEach((el) => el.remove());
    const titles = [...clone.querySelectorAll('svg title')].map((t) => t.textContent || '');
    const labels = [...clone.querySelectorAll('[aria-label]')].map((e) => e.getAttribute('aria-label'));
    clone.style.position = 'absolute';
    clone.style.left = '-10000px';
    document.documentElement.appendChild(clone);
    const text = clone.innerText;
    clone.remove();
    return [text, ...titles, ...labels, document.title].join('\\n');
  })()`);
  // Data inside composed strings (a station's name in a label, a plate in a tooltip).
  return data.reduce((rest, item) => rest.split(item).join(''), text);
}

export const CJK = /[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]/;

/** The latest registration code texted to `phone`, read from the development outbox as an operator. */
export async function smsCode(gateway: string, adminKey: string, phone: string): Promise<string | undefined> {
  const reply = await request(`${gateway}/api/v1/admin/sms?phone=${encodeURIComponent(phone)}`, { headers: { authorization: `Bearer ${adminKey}` } });
  const items = reply.json<{ items: Array<{ template: string; body: string | null }> }>().items;
  return items.find((m) => m.template === 'verification-code')?.body?.match(/\b(\d{6})\b/)?.[1];
}
