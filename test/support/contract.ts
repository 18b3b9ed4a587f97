import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import type { ValidateFunction } from "ajv";
import { brotliDecompressSync, gunzipSync } from "node:zlib";

/**
 * The API's published contract, checked on every answer the tests receive: the server's own OpenAPI
 * document (/swagger/json) is loaded once, its schemas compiled with a JSON Schema 2020-12 validator,
 * and each response must have a documented status for its operation, every header documented as
 * required (with a value its schema accepts), a JSON body where one is documented, and a body the
 * documented schema accepts.
 */
export interface Contract {
  /** Throws with what is wrong when the response breaks the document. */
  check(method: string, url: string, status: number, headers: Headers, body: Uint8Array): void;
}

type HeaderDoc = { required?: boolean; schema: unknown };
type Operation = { responses: Record<string, { content?: Record<string, { schema: unknown }>; headers?: Record<string, HeaderDoc | { $ref: string }> }> };

export async function loadContract(baseUrl: string): Promise<Contract> {
  const doc = (await (await fetch(`${baseUrl}/swagger/json`)).json()) as {
    paths: Record<string, Record<string, Operation>>;
    components: { schemas: Record<string, unknown>; headers: Record<string, HeaderDoc> };
  };
  const headerDoc = (h: HeaderDoc | { $ref: string }): HeaderDoc => ("$ref" in h ? doc.components.headers[h.$ref.slice("#/components/headers/".length)]! : h);
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  for (const [name, schema] of Object.entries(doc.components.schemas)) ajv.addSchema(schema as object, `#/components/schemas/${name}`);
  const compiled = new Map<unknown, ValidateFunction>();
  const validatorOf = (schema: unknown) => {
    let v = compiled.get(schema);
    if (!v) compiled.set(schema, (v = ajv.compile(schema as object)));
    return v;
  };
  const routes = Object.entries(doc.paths).map(([template, ops]) => ({
    template,
    regex: new RegExp(`^${template.replace(/\{[^/]+\}/g, "[^/]+")}$`),
    ops,
  }));
  return {
    check(method, url, status, headers, body) {
      const path = new URL(url).pathname;
      // A static path wins over a template, as in the server.
      const route = routes.filter((r) => r.regex.test(path)).sort((a, b) => Number(a.template.includes("{")) - Number(b.template.includes("{")))[0];
      const head = method === "HEAD";
      const op = route?.ops[head ? "get" : method.toLowerCase()];
      // The document and its UI are not operations of the API.
      if (path === "/swagger" || path.startsWith("/swagger/")) return;
      if (!op) {
        // No such operation: only the edge's own answers may come back.
        if (![404, 405, 204, 400, 401].includes(status)) throw new Error(`${method} ${path}: status ${status} for an operation the document does not have`);
        return;
      }
      const documented = op.responses[String(status)];
      if (!documented) throw new Error(`${method} ${path}: status ${status} is not documented (documented: ${Object.keys(op.responses).join(", ")})`);
      for (const [name, h] of Object.entries(documented.headers ?? {})) {
        const { required, schema } = headerDoc(h);
        const value = headers.get(name);
        if (value === null) {
          if (required) throw new Error(`${method} ${path} ${status}: the required header ${name} is missing`);
          continue;
        }
        const validate = validatorOf(schema);
        if (!validate(value)) throw new Error(`${method} ${path} ${status}: header ${name}: ${JSON.stringify(value)} does not match the document: ${ajv.errorsText(validate.errors)}`);
      }
      const content = documented.content;
      if (head) {
        if (body.length > 0) throw new Error(`HEAD ${path}: a body came`);
        return;
      }
      if (!content) {
        if (body.length > 0) throw new Error(`${method} ${path}: status ${status} is documented without a body, but one came`);
        return;
      }
      const [type, media] = Object.entries(content)[0]!;
      const got = headers.get("content-type") ?? "";
      if (!got.startsWith(type)) throw new Error(`${method} ${path}: content-type ${got}, documented ${type}`);
      if (type !== "application/json") return;
      const encoding = headers.get("content-encoding");
      const plain = encoding === "gzip" ? gunzipSync(body) : encoding === "br" ? brotliDecompressSync(body) : body;
      const value = JSON.parse(new TextDecoder().decode(plain));
      const validate = validatorOf(media.schema);
      if (!validate(value)) throw new Error(`${method} ${path} ${status}: body does not match the document: ${ajv.errorsText(validate.errors)}`);
    },
  };
}
