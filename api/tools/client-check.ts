// Type-checked with `tsc --strict` against the types openapi-typescript generates from
// api/openapi.yaml (as pbdeployer-api.d.ts beside this file): the names integrators type.
import type { components, operations, paths } from "./pbdeployer-api";

type Schemas = components["schemas"];

export const page: Schemas["AppPage"] = { items: [], page: 1, per_page: 20, total: 0, total_pages: 0 };

export const server: Schemas["ServerCreate"] = { name: "web1", host: "203.0.113.10", port: 22 };

export function errorCode(body: Schemas["ErrorBody"]): Schemas["ErrorInfo"]["code"] {
  return body.error.code;
}

export const refused: Schemas["ErrorInfo"]["code"] = "path_traversal";

export function eventName(event: Schemas["TaskStatusChanged"] | Schemas["TaskFinished"]): string {
  return event.type === "task_status" ? event.status : `finished after ${event.event_count}`;
}

export type Download = operations["downloadVersionZip"]["parameters"]["header"];
export const resume: NonNullable<Download> = { Range: "bytes=100-", "If-Range": '"abc"' };

export type VersionList = paths["/api/v1/versions"]["get"]["responses"][200]["content"]["application/json"];
export const versions: VersionList["items"] = [];
