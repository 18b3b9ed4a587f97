import type { Keys, Scope } from "../store/keys";
import { errorResponse } from "./http";

export const INVALID_KEY = "Invalid or missing API key.";
const URL_KEY_PARAMS = ["x-api-key", "apikey", "api_key", "api-key", "key"];

/**
 * A beforeHandle guard: answers 401 (exact body of the reference service) unless the X-API-KEY header
 * holds an active key, and 403 when the key lacks the scope. Keys in the URL are refused outright:
 * URLs end up in proxy and access logs.
 */
export function requireScope(keys: Keys, scope: Scope, headers: Record<string, string> = {}) {
  // `generation` (Store.generation()) may be passed by a caller that has read it for this request already.
  return ({ request }: { request: Request }, generation?: string): Response | undefined => {
    const url = request.url;
    const queryStart = url.indexOf("?");
    if (queryStart !== -1) {
      const params = new URLSearchParams(url.slice(queryStart + 1));
      for (const name of params.keys()) {
        if (URL_KEY_PARAMS.includes(name.toLowerCase())) {
          return errorResponse(400, `API keys are not accepted in the URL (query parameter "${name}"): URLs end up in logs. Send the key in the X-API-KEY header instead.`, headers);
        }
      }
    }
    const caller = keys.verify(request.headers.get("x-api-key"), generation);
    if (!caller) return errorResponse(401, INVALID_KEY, headers);
    if (scope === "admin" && caller.scope !== "admin") {
      return errorResponse(403, `The key "${caller.name}" has read scope; this endpoint needs a key with admin scope. Create one with 'nompd keys create NAME --scope admin'.`, headers);
    }
    return undefined;
  };
}
