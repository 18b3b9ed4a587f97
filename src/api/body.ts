import type { TObject, TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { EXIT, NompdError, UsageError } from "../errors";

/** Request bodies are small (a key's name and scope): anything larger is a mistake, not data. */
const MAX_BODY_BYTES = 16 * 1024;

/** The schema's fields, listed for a message (each as `show` writes it). */
const names = (schema: TObject, show: (name: string) => string = (n) => n) => Object.keys(schema.properties).map(show).join(", ");

/**
 * A route's JSON body, read by its schema (the same schema the OpenAPI document publishes as the
 * requestBody): a JSON object with the schema's properties and no other, as a query string is read by
 * its schema (query.ts). Every refusal names the problem and the fix.
 */
export async function readBody(request: Request, schema: TObject): Promise<Record<string, unknown>> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new NompdError(`The body must be JSON: send it with Content-Type: application/json (got ${type === "" ? "none" : `"${type}"`}).`, { status: 415, exit: EXIT.usage });
  }
  const bytes = await request.arrayBuffer();
  if (bytes.byteLength > MAX_BODY_BYTES) throw new UsageError(`The body is ${bytes.byteLength} bytes; at most ${MAX_BODY_BYTES} are accepted here.`, 413);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new UsageError(`The body is not valid JSON (${(err as Error).message}). Send an object such as {${names(schema, (n) => `"${n}": …`)}}.`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`The body must be a JSON object with the fields ${names(schema)}.`);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(schema.properties, key)) throw new UsageError(`Unknown field "${key}" in the body. Allowed here: ${names(schema)}.`);
  }
  for (const name of schema.required ?? []) {
    if (record[name] === undefined) throw new UsageError(`The body lacks the field "${name}". ${describe(schema.properties[name]!)}`);
  }
  for (const [name, field] of Object.entries(schema.properties) as Array<[string, TSchema]>) {
    if (record[name] === undefined) continue;
    if (!Value.Check(field, record[name])) {
      throw new UsageError(`The body's field "${name}" is not valid: ${JSON.stringify(record[name])}. ${describe(field)}`);
    }
  }
  return record;
}

/** What a field takes, from its schema: its description, or the values it allows. */
function describe(field: TSchema): string {
  if (typeof field.description === "string") return field.description;
  const values = (field.anyOf as TSchema[] | undefined)?.map((s) => s.const).filter((v) => v !== undefined);
  return values && values.length > 0 ? `Expected one of ${values.map((v) => JSON.stringify(v)).join(", ")}.` : "";
}
