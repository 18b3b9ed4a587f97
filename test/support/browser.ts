import { expect } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { ROOT } from "./binary";
import { ensurePackages } from "./debian";

// Functions given to page.evaluate run in the browser, on its globals; the test program has no DOM types,
// so these names are declared loosely, for this file only.
declare const document: any;
declare const window: any;
declare const navigator: any;

/**
 * Debian's Chromium, driven by playwright-core, for the status page's tests. Each test file gets one
 * browser with a fresh profile; each page (tab) has its own sessionStorage, so a new page is a new
 * visitor. Every page is watched: a request to another origin, a Content-Security-Policy violation or a
 * script error fails the test (see watch()).
 */

export const CHROMIUM = "/usr/bin/chromium";
/** Screenshots of every page the tests visit, for a person to look at (git ignores the folder). */
export const SCREENSHOTS = join(ROOT, "test-output", "ui");

const AXE_SOURCE = readFileSync(join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8");

/**
 * Chromium with a fresh profile in `profile` (an empty folder, e.g. tempDir()). Close the context after
 * the test file (afterAll at the file's top level).
 */
export async function launchBrowser(profile: string): Promise<BrowserContext> {
  ensurePackages(["chromium", "fonts"]);
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 900 },
    locale: "en-GB",
    timezoneId: "Europe/Oslo",
  });
}

export interface Watched {
  page: Page;
  /** Throws when the page broke a rule so far: another origin, a CSP violation, a script error. */
  assertClean(): void;
}

/** A new tab, watched for requests to other origins, CSP violations and script errors. */
export async function newPage(context: BrowserContext, origin: string): Promise<Watched> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("request", (r) => {
    const url = r.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith("data:")) problems.push(`request to another origin: ${url}`);
  });
  page.on("pageerror", (e) => problems.push(`script error: ${e.message}`));
  page.on("console", (m) => {
    // The API's own error answers (401, 409, 422) are logged by Chromium as failed loads; the page handles them.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource: the server responded with a status of")) problems.push(`console error: ${m.text()}`);
  });
  // Added through the browser's own protocol, so the page's CSP does not apply to it.
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e: { violatedDirective: string; blockedURI: string }) => {
      const w = window as unknown as { cspViolations?: string[] };
      (w.cspViolations ??= []).push(`${e.violatedDirective}: ${e.blockedURI}`);
    });
  });
  return {
    page,
    assertClean() {
      expect(problems).toEqual([]);
    },
  };
}

/** CSP violations the page reported since it loaded. */
export async function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { cspViolations?: string[] }).cspViolations ?? []);
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[] }>;
}

/**
 * A screenshot of the page as it is, and an axe-core check of it: no serious or critical violation.
 * axe is evaluated through the browser's protocol (the page's CSP allows no injected script tag).
 */
export async function checkPage(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const loaded = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe !== "undefined");
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const violations = (await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: unknown[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ["violations"], runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
    return result.violations;
  })) as AxeViolation[];
  const serious = violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${name}: ${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")}`);
  expect(serious).toEqual([]);
  expect(await cspViolations(page)).toEqual([]);
}
