/**
 * CORS, for browser apps (dashboards) on other origins. Off unless --cors-origins names the origins
 * allowed (or "*"). A preflight (OPTIONS with Origin and Access-Control-Request-Method) from an allowed
 * origin gets 204 with the methods and headers the API uses; answers to allowed origins carry
 * Access-Control-Allow-Origin and expose ETag and X-Nompd-Dataset. Origins not allowed get no CORS
 * headers at all, so the browser refuses them.
 */
export type CorsOrigins = "*" | readonly string[];

type Handler = (request: Request) => Response | Promise<Response>;

/** Adds Origin to Vary once (some answers are one Response object served again and again). */
function varyByOrigin(response: Response): Response {
  const vary = response.headers.get("vary");
  if (!vary || !/(^|,)\s*origin\s*(,|$)/i.test(vary)) response.headers.append("vary", "Origin");
  return response;
}

export function withCors(handler: Handler, origins: CorsOrigins | null): Handler {
  if (origins === null) return handler;
  const allowed = (origin: string) => origins === "*" || origins.includes(origin);
  const allowOrigin = (origin: string) => (origins === "*" ? "*" : origin);
  return (request) => {
    const origin = request.headers.get("origin");
    if (origin === null || !allowed(origin)) {
      // The answer differs by Origin when only some origins are allowed: tell shared caches so.
      if (origins === "*") return handler(request);
      const answer = handler(request);
      return answer instanceof Promise ? answer.then(varyByOrigin) : varyByOrigin(answer);
    }
    if (request.method === "OPTIONS" && request.headers.has("access-control-request-method")) {
      return new Response(null, {
        status: 204,
        headers: {
          "access-control-allow-origin": allowOrigin(origin),
          "access-control-allow-methods": "GET, POST",
          "access-control-allow-headers": "X-API-KEY, If-None-Match, Content-Type",
          "access-control-max-age": "600",
          vary: "Origin",
        },
      });
    }
    const decorate = (response: Response) => {
      response.headers.set("access-control-allow-origin", allowOrigin(origin));
      response.headers.set("access-control-expose-headers", "ETag, X-Nompd-Dataset");
      return origins === "*" ? response : varyByOrigin(response);
    };
    const answer = handler(request);
    return answer instanceof Promise ? answer.then(decorate) : decorate(answer);
  };
}
