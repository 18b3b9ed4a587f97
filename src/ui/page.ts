import { Type } from "@sinclair/typebox";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { NotFoundError } from "../errors";
import type { RouteDef } from "../api/edge";
import { PreparedBody, sendJson } from "../api/http";
// The status page (src/ui/web/). `bun build --compile` bundles it into the binary with every asset it
// names, each under a content-hashed name, and lists them in `page.files`. Run from source there is no
// such list: the page is bundled in memory on first use instead (see load), the same way.
import page from "./web/index.html";

/** Where the page's assets are served: their names carry a hash of their content. */
const ASSET_PREFIX = "/ui/";

/**
 * The page's only sources are this server: no inline script or style, no other origin, no plug-ins,
 * no framing. connect-src 'self' is the API it reads.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** The page itself: always revalidated, since a new binary brings a page that names new assets. */
const PAGE_HEADERS = { "cache-control": "no-cache", "content-security-policy": CONTENT_SECURITY_POLICY, "x-frame-options": "DENY" };
/** An asset's name changes whenever its content does: cached for a year, never revalidated. */
const ASSET_HEADERS = { "cache-control": "public, max-age=31536000, immutable" };

/** A file of the page, answered as the API's prepared answers are (ETag, 304, gzip or br from 1 KiB). */
const prepared = (type: string, bytes: Uint8Array, headers: Record<string, string>) => new PreparedBody(bytes, { "content-type": type, ...SECURITY_HEADERS, ...headers });

interface Bundle {
  index: PreparedBody;
  assets: Map<string, PreparedBody>;
}

interface BuiltFile {
  name: string;
  type: string;
  bytes: Uint8Array;
}

/** The bundled files: from the binary, or (run from source) bundled now by Bun's bundler. */
async function builtFiles(): Promise<BuiltFile[]> {
  if (page.files && page.files.length > 0) {
    return Promise.all(page.files.map(async (f) => ({ name: basename(f.path), type: f.headers["content-type"], bytes: await Bun.file(f.path).bytes() })));
  }
  const result = await Bun.build({ entrypoints: [fileURLToPath(new URL("./web/index.html", import.meta.url))], minify: true, target: "browser" });
  if (!result.success) throw new Error(`bundling the status page failed: ${result.logs.map(String).join("; ")}`);
  return Promise.all(result.outputs.map(async (o) => ({ name: basename(o.path), type: o.type, bytes: new Uint8Array(await o.arrayBuffer()) })));
}

async function load(): Promise<Bundle> {
  const files = await builtFiles();
  const html = files.find((f) => f.type.startsWith("text/html"));
  if (!html) throw new Error("the status page's bundle has no HTML file");
  const others = files.filter((f) => f !== html);
  // The bundler points the page at its assets by their bare names, at the root ("/x.js", or "./x.js"
  // from source): they are served below ASSET_PREFIX, out of the API's way.
  let text = new TextDecoder().decode(html.bytes);
  for (const f of others) text = text.replaceAll(`"/${f.name}"`, `"${ASSET_PREFIX}${f.name}"`).replaceAll(`"./${f.name}"`, `"${ASSET_PREFIX}${f.name}"`);
  return {
    index: prepared("text/html; charset=utf-8", new TextEncoder().encode(text), PAGE_HEADERS),
    assets: new Map(others.map((f) => [f.name, prepared(f.type.replace(";charset", "; charset"), f.bytes, ASSET_HEADERS)])),
  };
}

let bundle: Promise<Bundle> | null = null;
const loaded = () => (bundle ??= load().catch((err) => {
  bundle = null;
  throw err;
}));

const PAGE = ["Page"];

/** The status page's routes: the page at / and its assets. Hidden from the OpenAPI document. */
export function pageRoutes(): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/",
      scope: null,
      hidden: true,
      summary: "The status page",
      tags: PAGE,
      responses: { 200: { description: "The page (HTML)" }, 304: { description: "Not modified" } },
      async handle({ request }) {
        return sendJson(request, (await loaded()).index);
      },
    },
    {
      method: "GET",
      path: `${ASSET_PREFIX}:asset`,
      scope: null,
      hidden: true,
      params: Type.Object({ asset: Type.String() }),
      summary: "The status page's scripts, styles and images",
      tags: PAGE,
      responses: { 200: { description: "The file" }, 304: { description: "Not modified" }, 404: { description: "No such file" } },
      async handle({ request, params }) {
        const { assets } = await loaded();
        const file = assets.get(params.asset as string);
        if (!file) throw new NotFoundError(`No such file of the status page: ${params.asset}. Reload the page at / to get the current one.`);
        return sendJson(request, file);
      },
    },
  ];
}
