import { Elysia, t } from "elysia";
import { z } from "zod";
import type { OutputCollection } from "../convert/dataset";
import type { Store } from "../store/db";
import { Documents } from "../store/documents";
import type { Keys } from "../store/keys";
import { requireScope } from "./auth";
import { errorResponse, PreparedBody, sendJson } from "./http";
import {
  envelopeOf,
  ErrorBody,
  INVALID_KEY_EXAMPLE,
  NATALIZUMAB_EXAMPLE,
  REIMBURSEMENT_EXAMPLE,
  VersionedReimbursementGroup,
  VersionedTreatmentGroup,
} from "./schemas";
import { envelopeJson, FullLists } from "./views";

const wholeNumber = z.string().regex(/^\d{1,15}$/).transform(Number);

/** `?sinceVersion=N`: a whole number ≥ 0; the message names what is allowed. */
export function parseVersionParam(name: string, raw: string | undefined): { ok: true; value: number | undefined } | { ok: false; error: string } {
  if (raw === undefined) return { ok: true, value: undefined };
  const parsed = wholeNumber.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, error: `${name} must be a whole number ≥ 0 (the currentVersion of an earlier answer), got "${raw}".` };
  }
  return { ok: true, value: parsed.data };
}

const security = [{ apiKey: [] as string[] }];

const LISTS: Array<{ collection: OutputCollection; path: string; item: typeof VersionedTreatmentGroup | typeof VersionedReimbursementGroup; example: unknown; summary: string }> = [
  { collection: "treatmentGroup", path: "/treatmentGroup", item: VersionedTreatmentGroup, example: NATALIZUMAB_EXAMPLE, summary: "Treatment groups (hospital treatment-group rankings)" },
  { collection: "reimbursementGroup", path: "/reimbursementGroup", item: VersionedReimbursementGroup, example: REIMBURSEMENT_EXAMPLE, summary: "Reimbursement groups (H-resept reimbursement authorizations)" },
];

/** The consumer API under /api/v1 (SPEC §7): read scope, the reference service's envelope. */
export function consumerApi(store: Store, keys: Keys) {
  const documents = new Documents(store);
  const fullLists = new FullLists(store, documents);
  const datasetHeader = { "x-nompd-dataset": store.datasetId };

  const app = new Elysia({ name: "consumer", prefix: "/api/v1" });
  return app.guard({ beforeHandle: requireScope(keys, "read") }, (guarded) => {
    for (const { collection, path, item, example, summary } of LISTS) {
      guarded.get(
        path,
        ({ request, query }) => {
          const since = parseVersionParam("sinceVersion", query.sinceVersion);
          if (!since.ok) return errorResponse(400, since.error, datasetHeader);
          if (since.value === undefined) return sendJson(request, fullLists.get(collection), 200, datasetHeader);

          const sinceVersion = since.value;
          const answer = documents.snapshot(() => {
            const current = store.currentVersion();
            if (sinceVersion > current) return { current, json: null };
            return { current, json: envelopeJson(current, documents.since(collection, sinceVersion)) };
          });
          if (answer.json === null) {
            return errorResponse(
              409,
              `sinceVersion ${sinceVersion} is newer than this server's currentVersion ${answer.current}: its database was reset or restored. ` +
                `Fetch everything again without sinceVersion and keep the new currentVersion.`,
              datasetHeader,
            );
          }
          return sendJson(request, PreparedBody.fromJson(answer.json), 200, datasetHeader);
        },
        {
          query: t.Object({
            sinceVersion: t.Optional(
              t.String({
                description:
                  "Whole number ≥ 0. Only items whose version is greater, deleted ones included (isDeleted: true), ordered by version then id. 0 gives every item that ever existed.",
                examples: ["4"],
              }),
            ),
          }),
          response: {
            200: envelopeOf(item, `${collection}List`, example),
            304: t.Void({ description: "Not modified (If-None-Match matched the ETag)" }),
            400: ErrorBody,
            401: t.Object({ error: t.Literal("Invalid or missing API key.") }, { examples: [INVALID_KEY_EXAMPLE] }),
            409: ErrorBody,
          },
          detail: {
            summary,
            description:
              "Without sinceVersion: all live items ordered by id. With sinceVersion=N: every item with version > N, ordered by version then id. " +
              "Responses carry ETag (If-None-Match answers 304) and X-Nompd-Dataset, and are compressed when the client accepts gzip or br.",
            tags: ["Consumer"],
            security,
          },
        },
      );
    }
    return guarded;
  });
}
