import { Elysia } from "elysia";
import { gzipSync } from "node:zlib";
import { acceptsGzip } from "./http";
// The API reference UI's script, embedded in the binary so that /swagger works without internet.
// A `type: "file"` import gives the file's path (inside the executable once compiled); TypeScript has no
// types for a plain .js file, hence the directive.
// @ts-expect-error TS7016
import scalarBundlePath from "../../node_modules/@scalar/api-reference/dist/browser/standalone.js" with { type: "file" };

export const SCALAR_BUNDLE_PATH = "/swagger/scalar.js";

/**
 * Serves the embedded Scalar bundle (gzip when accepted, compressed once on first use). Both forms are
 * held as Blobs, whose bytes a Response shares rather than copies (see Form in http.ts).
 */
export function swaggerUiAssets() {
  let plain: Blob | null = null;
  let gzipped: Blob | null = null;
  return new Elysia({ name: "swagger-ui-assets" }).get(
    SCALAR_BUNDLE_PATH,
    async ({ request }) => {
      plain ??= new Blob([await Bun.file(scalarBundlePath).arrayBuffer()]);
      const gzip = acceptsGzip(request.headers.get("accept-encoding"));
      if (gzip) gzipped ??= new Blob([gzipSync(await plain.bytes(), { level: 6 })]);
      return new Response(gzip ? gzipped : plain, {
        headers: {
          "content-type": "text/javascript; charset=utf-8",
          "cache-control": "public, max-age=86400",
          vary: "Accept-Encoding",
          ...(gzip ? { "content-encoding": "gzip" } : {}),
        },
      });
    },
    { detail: { hide: true } },
  );
}
