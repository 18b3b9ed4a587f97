import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { createKey, ensureBinary, ROOT, serve, stopServersAfterAll, type RunningServer } from "../support/binary";
import { checkPage, launchBrowser, newPage, type Watched } from "../support/browser";
import { startFakeUpstream, type Collection, type FakeUpstream } from "../support/fakeUpstream";
import { tempDir } from "../support/tmp";

// Functions given to page.evaluate run in the browser, on its globals; the test program has no DOM types,
// so these names are declared loosely, for this file only.
declare const document: any;
declare const window: any;
declare const navigator: any;

/**
 * The status page at /, in Debian's Chromium against the compiled binary: sign-in with a read key and an
 * admin key, the sample's treatment groups and versions, keys, and a sync against the fake upstream.
 * Every page visited is screenshotted (test-output/ui/) and checked with axe-core.
 */

const dir = tempDir("nompd-ui-");
const profile = tempDir("nompd-chromium-");
stopServersAfterAll();
const UPSTREAM_KEY = "upstream-key-ui-5f0c";
/** A browser test drives many pages; on a busy 2-core machine that takes a while (never asserted on). */
const BROWSER_TEST_MS = 60_000;

/** The sample dataset's resources, as the fake upstream serves them. */
function sampleResources(): Record<Collection, unknown[]> {
  const read = (c: Collection) =>
    (JSON.parse(readFileSync(join(ROOT, "data", "sample", `${c}.json`), "utf8")) as { entry: Array<{ resource: unknown }> }).entry.map((e) => e.resource);
  return { PlanDefinition: read("PlanDefinition"), ActivityDefinition: read("ActivityDefinition"), RegulatedAuthorization: read("RegulatedAuthorization") };
}

let browser: BrowserContext;
/** The sample server: a copy of the binary alone in a folder, run there. */
let sample: RunningServer;
let reader = "";
let admin = "";
let binaryFolder = "";

beforeAll(async () => {
  ensureBinary();
  binaryFolder = join(dir, "alone");
  mkdirSync(binaryFolder);
  copyFileSync(join(ROOT, "dist", "nompd"), join(binaryFolder, "nompd"));
  const db = join(dir, "sample.db");
  reader = await createKey(db, "pharmacy");
  admin = await createKey(db, "ops", { scope: "admin" });
  sample = await serve(["--sample", "--db", db], {}, { command: [join(binaryFolder, "nompd")], cwd: binaryFolder });
  browser = await launchBrowser(profile);
}, 120_000);
afterAll(() => browser?.close());

const api = async <T>(server: RunningServer, path: string, key: string): Promise<T> => {
  const res = await fetch(server.url + path, { headers: { "X-API-KEY": key } });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
};

async function signIn(w: Watched, url: string, key: string): Promise<void> {
  await w.page.goto(url + "/");
  await w.page.getByLabel("API key").fill(key);
  await w.page.getByRole("button", { name: "Sign in" }).click();
  await w.page.getByRole("heading", { level: 1, name: "Status" }).waitFor();
}

const heading = (page: Page, name: string | RegExp) => page.getByRole("heading", { level: 1, name }).waitFor();

describe("the page, served by the binary alone", () => {
  test("no file beside the binary: / answers no-cache with a strict CSP; assets have hashed names and are immutable", async () => {
    expect(readdirSync(binaryFolder)).toEqual(["nompd"]);
    const res = await fetch(sample.url + "/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    const page = await res.text();
    // No inline script or style, nothing from another origin.
    expect(page).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(page).not.toMatch(/<style|\sstyle=/);
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//);
    const assets = [...page.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith(".js"))).toBe(true);
    expect(assets.some((a) => a.endsWith(".css"))).toBe(true);
    let bytes = 0;
    for (const asset of assets) {
      expect(asset).toMatch(/^\/ui\/[a-z]+-[a-z0-9]{8}\.(js|css|svg)$/);
      const a = await fetch(sample.url + asset);
      expect(a.status).toBe(200);
      expect(a.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      bytes += (await a.arrayBuffer()).byteLength;
    }
    // The page is small: well under the megabyte it may add to the binary.
    expect(bytes).toBeLessThan(200_000);
    // Revalidation of / answers 304; an unknown asset is a 404 naming the way out.
    const again = await fetch(sample.url + "/", { headers: { "if-none-match": res.headers.get("etag")! } });
    expect(again.status).toBe(304);
    const missing = await fetch(sample.url + "/ui/chunk-00000000.js");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toContain("Reload the page");
  }, BROWSER_TEST_MS);
});

describe("sign-in", () => {
  test("a wrong key shows a clear message, and the key is never put in a URL", async () => {
    const w = await newPage(browser, sample.url);
    const urls: string[] = [];
    w.page.on("request", (r) => urls.push(r.url()));
    await w.page.goto(sample.url + "/");
    await heading(w.page, "Sign in to Nompd");
    await checkPage(w.page, "signin");
    await w.page.getByLabel("API key").fill("nompd_not-a-real-key");
    await w.page.getByRole("button", { name: "Sign in" }).click();
    const alert = w.page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toContain("This key is not valid: it is unknown, mistyped or revoked.");
    await checkPage(w.page, "signin-wrong-key");
    expect(await w.page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(urls.filter((u) => u.includes("nompd_"))).toEqual([]);
    w.assertClean();
    await w.page.close();
  }, BROWSER_TEST_MS);
});

describe("a read key", () => {
  let w: Watched;
  beforeAll(async () => {
    w = await newPage(browser, sample.url);
  });
  afterAll(() => w.page.close());

  test("signs in with the keyboard alone and sees the status, marked as the sample dataset", async () => {
    const { page } = w;
    // The status the page fetches to check the key is the one it shows: asked for once, again on Refresh.
    const statusAsks: string[] = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname === "/api/v1/status") statusAsks.push(r.url());
    });
    await page.goto(sample.url + "/");
    await heading(page, "Sign in to Nompd");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("api-key");
    await page.keyboard.type(reader);
    await page.keyboard.press("Enter");
    await heading(page, "Status");
    // The key is kept in this tab's sessionStorage, not in the URL.
    expect(await page.evaluate(() => sessionStorage.getItem("nompd.apiKey"))).toBe(reader);
    expect(page.url()).not.toContain(reader);

    const status = await api<{ currentVersion: number; datasetId: string; runs: Array<{ id: number }> }>(sample, "/api/v1/status", reader);
    expect(await page.getByTestId("sample-banner").textContent()).toContain("Sample dataset");
    expect(await page.getByTestId("current-version").textContent()).toBe(String(status.currentVersion));
    expect(await page.getByText(status.datasetId).count()).toBe(1);
    expect(await page.getByTestId("lock").textContent()).toContain("Free");
    const runs = page.getByTestId("runs").locator("tbody tr");
    expect(await runs.count()).toBe(status.runs.length);
    expect(await runs.first().textContent()).toContain("first-run");
    // A read key sees no admin pages.
    expect(await page.getByRole("link", { name: "Keys" }).count()).toBe(0);
    expect(await page.getByRole("link", { name: "Sync now" }).count()).toBe(0);
    expect(await page.textContent("header")).toContain("pharmacy (read)");
    await checkPage(page, "status");
    expect(statusAsks).toHaveLength(1);
    await Promise.all([page.waitForRequest((r) => new URL(r.url()).pathname === "/api/v1/status"), page.getByRole("button", { name: "Refresh" }).click()]);
    expect(statusAsks).toHaveLength(2);

    // After a load, the skip link comes first, then the pages; Enter opens one and puts the focus on its
    // heading. (The key stays in the tab's sessionStorage across the reload.)
    await page.reload();
    await heading(page, "Status");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to the content");
    for (const name of ["Status", "Versions", "Treatment groups"]) {
      await page.keyboard.press("Tab");
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe(name);
    }
    await page.keyboard.press("Enter");
    await heading(page, "Treatment groups");
    await page.waitForFunction(() => document.activeElement?.tagName === "H1");
    // The kept key was checked with one status request, which the status view showed.
    expect(statusAsks).toHaveLength(3);
    w.assertClean();
  }, BROWSER_TEST_MS);

  test("finds the MS group and reads its rank 1, with the medicines' varenummer", async () => {
    const { page } = w;
    await page.goto(sample.url + "/#/treatment-groups");
    await heading(page, "Treatment groups");
    await page.getByTestId("treatment-groups").waitFor();
    await page.getByLabel("Disease group").selectOption("MS");
    type Group = { id: string; name: string; treatmentAlternatives: Array<{ rank: number; name: string; medicines: Array<{ identifier: { value: string } }> }> };
    const ms = (await api<{ items: Array<{ data: Group }> }>(sample, "/api/v1/treatmentGroup?diseaseGroup=MS", reader)).items.map((i) => i.data);
    expect(ms.length).toBeGreaterThan(1);
    const rows = page.getByTestId("treatment-groups").locator("tbody tr th");
    expect((await rows.allTextContents()).sort()).toEqual(ms.map((g) => g.name).sort());
    await checkPage(page, "treatment-groups-ms");

    // The ICD-10 and name filters narrow it further.
    await page.getByLabel("Name").fill("høyaktiv");
    expect(await rows.allTextContents()).toEqual(["MS - høyaktiv sykdom"]);
    await page.getByRole("link", { name: "MS - høyaktiv sykdom" }).click();
    await heading(page, "MS - høyaktiv sykdom");
    const group = ms.find((g) => g.name === "MS - høyaktiv sykdom")!;
    const first = group.treatmentAlternatives.find((a) => a.rank === 1)!;
    // The sample's own file says the same: its first-ranked action.
    const plan = (sampleResources().PlanDefinition as Array<{ name: string; action: Array<{ title: string; extension: Array<{ valueInteger: number }> }> }>).find(
      (p) => p.name === "MS - høyaktiv sykdom",
    )!;
    expect(plan.action.find((a) => a.extension[0]!.valueInteger === 1)!.title).toBe(first.name);
    const rank1 = page.getByTestId("ranking").locator("tbody tr").first();
    expect(await rank1.locator("td").first().textContent()).toBe("1");
    expect(await rank1.locator("th").textContent()).toContain(first.name);
    for (const m of first.medicines) expect(await rank1.textContent()).toContain(m.identifier.value);
    expect(await page.getByTestId("ranking").locator("tbody tr").count()).toBe(group.treatmentAlternatives.length);
    await checkPage(page, "treatment-group");
    w.assertClean();
  }, BROWSER_TEST_MS);

  test("searches reimbursement groups by varenummer and by ICD-10 code", async () => {
    const { page } = w;
    await page.goto(sample.url + "/#/reimbursement-groups");
    await heading(page, "Reimbursement groups");
    await page.getByLabel("Varenummer").fill("166028");
    await page.getByRole("button", { name: "Search" }).click();
    const expected = await api<{ items: Array<{ data: { id: string } }> }>(sample, "/api/v1/reimbursementGroup?varenummer=166028", reader);
    expect(expected.items.length).toBeGreaterThan(0);
    await page.getByText(`reimbursement ${expected.items.length === 1 ? "group" : "groups"} with varenummer 166028`).waitFor();
    const groups = page.getByTestId("reimbursement-groups").locator("article");
    expect(await groups.count()).toBe(expected.items.length);
    expect(await groups.first().textContent()).toContain("Legal basis");
    expect(await groups.first().textContent()).toContain("166028");
    await checkPage(page, "reimbursement-groups");

    await page.getByLabel("Varenummer").fill("");
    await page.getByLabel("ICD-10 code").fill("g35");
    await page.getByRole("button", { name: "Search" }).click();
    const g35 = await api<{ items: unknown[] }>(sample, "/api/v1/reimbursementGroup?indication=G35", reader);
    await page.getByText(`with ICD-10 G35`).waitFor();
    expect(await groups.count()).toBe(g35.items.length);
    w.assertClean();
  }, BROWSER_TEST_MS);

  test("opens the last version's changes, and an item in it", async () => {
    const { page } = w;
    await page.getByRole("link", { name: "Versions" }).click();
    await heading(page, "Versions");
    const versions = await api<{ currentVersion: number; versions: Array<{ version: number; counts: Record<string, { added: number }> }> }>(sample, "/api/v1/versions", reader);
    await page.getByTestId("versions").waitFor();
    expect(await page.getByTestId("versions").locator("tbody tr").count()).toBe(versions.versions.length);
    await checkPage(page, "versions");
    const last = versions.versions[0]!;
    await page.getByRole("link", { name: `Version ${last.version}` }).click();
    await heading(page, `Version ${last.version}`);
    await page.getByRole("heading", { level: 2, name: `Treatment groups: ${last.counts.treatmentGroup!.added} added` }).waitFor();
    await checkPage(page, "version");
    await page.getByRole("link", { name: "MS - høyaktiv sykdom" }).click();
    await heading(page, "MS - høyaktiv sykdom");
    expect(await page.textContent("main")).toContain(`Added in version ${last.version}`);
    w.assertClean();
  }, BROWSER_TEST_MS);

  test("an admin page says an admin key is needed", async () => {
    await w.page.goto(sample.url + "/#/keys");
    await heading(w.page, "Admin key needed");
    w.assertClean();
  }, BROWSER_TEST_MS);
});

describe("an admin key", () => {
  test("creates a key, shown once with a copy button, and revokes it after a confirmation", async () => {
    const w = await newPage(browser, sample.url);
    const { page } = w;
    await browser.grantPermissions(["clipboard-read", "clipboard-write"], { origin: sample.url });
    await signIn(w, sample.url, admin);
    expect(await page.textContent("header")).toContain("ops (admin)");
    await page.getByRole("link", { name: "Keys" }).click();
    await heading(page, "API keys");
    await page.getByTestId("keys").waitFor();
    // Its own key has no revoke button.
    expect(await page.getByRole("button", { name: "Revoke the key ops" }).count()).toBe(0);

    await page.getByLabel("Name").fill("ward-12");
    await page.getByLabel("Scope").selectOption("read");
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByTestId("new-key").waitFor();
    const key = await page.getByLabel("New key").inputValue();
    expect(key).toMatch(/^nompd_[A-Za-z0-9_-]{43}$/);
    await page.getByRole("button", { name: "Copy" }).click();
    await page.getByText("Copied to the clipboard.").waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
    await checkPage(page, "keys-created");
    expect((await fetch(`${sample.url}/api/v1/status`, { headers: { "X-API-KEY": key } })).status).toBe(200);
    await page.getByRole("button", { name: "Done" }).click();
    expect(await page.getByLabel("New key").count()).toBe(0);

    // Revoke: cancelled first, then confirmed.
    await page.getByRole("button", { name: "Revoke the key ward-12" }).click();
    const dialog = page.getByRole("dialog", { name: "Revoke the key “ward-12”?" });
    await dialog.waitFor();
    await checkPage(page, "keys-revoke-confirm");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    expect((await fetch(`${sample.url}/api/v1/status`, { headers: { "X-API-KEY": key } })).status).toBe(200);
    await page.getByRole("button", { name: "Revoke the key ward-12" }).click();
    await dialog.getByRole("button", { name: "Revoke" }).click();
    await page.getByText("The key “ward-12” is revoked").waitFor();
    expect((await fetch(`${sample.url}/api/v1/status`, { headers: { "X-API-KEY": key } })).status).toBe(401);
    await page.getByTestId("keys").locator("tbody tr", { hasText: "ward-12" }).filter({ hasText: "Revoked" }).waitFor();
    expect(await page.getByRole("button", { name: "Revoke the key ward-12" }).count()).toBe(0);
    await checkPage(page, "keys");
    w.assertClean();
    await page.close();
  }, BROWSER_TEST_MS);
});

describe("sync now, against the fake upstream", () => {
  let upstream: FakeUpstream;
  let server: RunningServer;
  let boss = "";
  const data = sampleResources();

  beforeAll(async () => {
    upstream = startFakeUpstream({ data, apiKey: UPSTREAM_KEY, pageSize: 20 });
    const db = join(dir, "synced.db");
    boss = await createKey(db, "boss", { scope: "admin" });
    server = await serve(["--db", db], { NOMPD_UPSTREAM_URL: upstream.url, NOMPD_UPSTREAM_API_KEY: UPSTREAM_KEY, NOMPD_UPSTREAM_BACKOFF_MS: "20" });
    // With an upstream and no data, the server syncs on start.
    for (let i = 0; i < 400 && (await fetch(server.url + "/health/ready")).status !== 200; i++) await Bun.sleep(50);
  }, 60_000);
  afterAll(() => upstream.stop());

  test("a dry run first, then the sync with its progress; the run shows in the runs, its changes in the versions", async () => {
    const w = await newPage(browser, server.url);
    const { page } = w;
    await signIn(w, server.url, boss);
    expect(await page.getByTestId("sample-banner").count()).toBe(0);

    // Upstream swaps the first two alternatives of an MS ranking.
    const plans = structuredClone(data.PlanDefinition) as Array<{ name: string; action: Array<{ extension: Array<{ valueInteger: number }> }> }>;
    const plan = plans.find((p) => p.name === "MS - høyaktiv sykdom")!;
    plan.action[0]!.extension[0]!.valueInteger = 2;
    plan.action[1]!.extension[0]!.valueInteger = 1;
    upstream.setData({ ...data, PlanDefinition: plans });

    await page.getByRole("link", { name: "Sync now" }).click();
    await heading(page, "Sync now");
    expect(await page.getByRole("button", { name: "Run the sync" }).isDisabled()).toBe(true);
    await page.getByRole("button", { name: "Dry run" }).click();
    await page.getByTestId("dry-run").waitFor();
    const before = await api<{ currentVersion: number }>(server, "/api/v1/status", boss);
    expect(await page.getByTestId("dry-run").textContent()).toContain(`It would make version ${before.currentVersion + 1}`);
    await checkPage(page, "sync-dry-run");

    // A slow page keeps the sync running long enough to watch its progress.
    upstream.addFault({ collection: "RegulatedAuthorization", page: 2, kind: "slow", delayMs: 3000, times: 1 });
    await page.getByRole("button", { name: "Run the sync" }).click();
    await page.getByTestId("progress").getByText(/RegulatedAuthorization: \d+ resources in \d+ pages? …/).waitFor();
    await checkPage(page, "sync-progress");
    await page.getByTestId("outcome").waitFor({ timeout: 30_000 });
    const outcome = (await page.getByTestId("outcome").textContent())!;
    expect(outcome).toContain("Succeeded");
    expect(outcome).toContain(`Dataset version ${before.currentVersion + 1} is served now`);
    await checkPage(page, "sync-done");

    await page.getByRole("link", { name: "See it in the runs on the status page" }).click();
    await heading(page, "Status");
    const newest = page.getByTestId("runs").locator("tbody tr").first();
    await newest.waitFor();
    const runs = await api<{ runs: Array<{ id: number; trigger: string; status: string }> }>(server, "/api/v1/status", boss);
    expect(runs.runs[0]).toMatchObject({ trigger: "http", status: "succeeded" });
    expect(await newest.textContent()).toContain(`#${runs.runs[0]!.id}`);
    expect(await newest.textContent()).toContain("Succeeded");
    await checkPage(page, "status-after-sync");

    // The version's changes name the group, and its before/after reads as the swap.
    await page.getByRole("link", { name: "Versions" }).click();
    await page.getByRole("link", { name: `Version ${before.currentVersion + 1}` }).click();
    await heading(page, `Version ${before.currentVersion + 1}`);
    await page.getByRole("link", { name: "MS - høyaktiv sykdom" }).click();
    await heading(page, "MS - høyaktiv sykdom");
    const diff = await page.getByTestId("diff").locator("li").allTextContents();
    // In the order of the new ranking.
    expect(diff).toEqual(["rank 2 → 1: Ofatumumab (Kesimpta)", "rank 1 → 2: Ocrelizumab (Ocrevus)"]);
    await checkPage(page, "version-item-diff");
    w.assertClean();
    await page.close();
  }, BROWSER_TEST_MS);

  test("the guard's verdict stops a sync that deletes most; force only after an explicit confirmation", async () => {
    const w = await newPage(browser, server.url);
    const { page } = w;
    await signIn(w, server.url, boss);
    upstream.setData({ ...data, RegulatedAuthorization: data.RegulatedAuthorization.slice(0, 10) });
    await page.getByRole("link", { name: "Sync now" }).click();
    await page.getByRole("button", { name: "Dry run" }).click();
    await page.getByTestId("guard").waitFor();
    expect(await page.getByTestId("guard").textContent()).toContain("mass-deletion guard");
    expect(await page.getByTestId("dry-run").textContent()).toContain("The mass-deletion guard would stop the sync");
    expect(await page.getByRole("button", { name: "Run the sync" }).isDisabled()).toBe(true);
    await checkPage(page, "sync-guard");

    await page.getByRole("button", { name: "Force the sync…" }).click();
    const dialog = page.getByRole("dialog", { name: "Force the sync past the guard?" });
    await dialog.waitFor();
    const force = dialog.getByRole("button", { name: "Force the sync" });
    expect(await force.isDisabled()).toBe(true);
    await checkPage(page, "sync-force-confirm");
    await dialog.getByLabel("I have checked the upstream: these deletions are real.").check();
    expect(await force.isDisabled()).toBe(false);
    const version = (await api<{ currentVersion: number }>(server, "/api/v1/status", boss)).currentVersion;
    await force.click();
    await page.getByTestId("outcome").waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("outcome").textContent()).toContain(`Dataset version ${version + 1} is served now`);
    const after = await api<{ runs: Array<{ status: string; counts: Record<string, { deleted: number }> }> }>(server, "/api/v1/status", boss);
    expect(after.runs[0]!.status).toBe("succeeded");
    expect(after.runs[0]!.counts.RegulatedAuthorization!.deleted).toBe(data.RegulatedAuthorization.length - 10);
    w.assertClean();
    await page.close();
  }, BROWSER_TEST_MS);
});
