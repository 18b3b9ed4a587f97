/**
 * CORS, for browser apps (dashboards) on other origins. Off unless --cors-origins names the origins
 * allowed (or "*"). A preflight (OPTIONS with Origin and Access-Control-Request-Method) from an allowed
 * origin gets 204 with the methods and headers the API uses; answers to allowed origins carry
 * Access-Control-Allow-Origin and expose the API's own headers. Origins not allowed get no CORS headers
 * at all, so the browser refuses them.
 */
export type CorsOrigins = "*" | readonly string[];

const EXPOSED_HEADERS = "ETag, X-Nompd-Dataset, X-Nompd-Sample, X-Nompd-Diff-Floor, Retry-After";

export interface Cors {
  /** The preflight answer for this request (with `headers` too), or null when it is no preflight from an allowed origin. */
  preflight(request: Request, allow: string, headers: Record<string, string>): Response | null;
  /** Adds the CORS headers this request's answer needs (none for a disallowed origin). */
  decorate(request: Request, response: Response): Response;
}

/** Adds Origin to Vary once (some answers are one Response object served again and again). */
function varyByOrigin(response: Response): Response {
  const vary = response.headers.get("vary");
  if (!vary || !/(^|,)\s*origin\s*(,|$)/i.test(vary)) response.headers.append("vary", "Origin");
  return response;
}

export function cors(origins: CorsOrigins | null): Cors | null {
  if (origins === null) return null;
  const allowed = (origin: string) => origins === "*" || origins.includes(origin);
  const allowOrigin = (origin: string) => (origins === "*" ? "*" : origin);
  return {
    preflight(request, allow, headers) {
      const origin = request.headers.get("origin");
      if (request.method !== "OPTIONS" || origin === null || !allowed(origin) || !request.headers.has("access-control-request-method")) return null;
      return new Response(null, {
        status: 204,
        headers: {
          "access-control-allow-origin": allowOrigin(origin),
          "access-control-allow-methods": allow,
          "access-control-allow-headers": "X-API-KEY, If-None-Match, Content-Type",
          "access-control-max-age": "600",
          vary: "Origin",
          ...headers,
        },
      });
    },
    decorate(request, response) {
      const origin = request.headers.get("origin");
      if (origin === null || !allowed(origin)) {
        // The answer differs by Origin when only some origins are allowed: tell shared caches so.
        return origins === "*" ? response : varyByOrigin(response);
      }
      response.headers.set("access-control-allow-origin", allowOrigin(origin));
      response.headers.set("access-control-expose-headers", EXPOSED_HEADERS);
      return origins === "*" ? response : varyByOrigin(response);
    },
  };
}
