// Validates Kubernetes objects against the API's strict JSON schemas (unknown fields are errors),
// offline, with ajv. The schemas live in test/data/k8s-schemas (see its README for provenance).
import * as fs from "fs";
import * as path from "path";
import Ajv, { ValidateFunction } from "ajv";
import addFormats from "ajv-formats";

const SCHEMA_DIR = path.join(__dirname, "data", "k8s-schemas");

const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
addFormats(ajv);
ajv.addFormat("int32", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= -2147483648 && n <= 2147483647 });
ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });

const compiled = new Map<string, ValidateFunction>();

/** `apps/v1` + `Deployment` -> deployment-apps-v1.json; `v1` + `Secret` -> secret-v1.json. */
export function schemaFile(apiVersion: string, kind: string): string {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : [undefined, apiVersion];
    return path.join(SCHEMA_DIR, `${kind.toLowerCase()}${group ? `-${group.split(".")[0]}` : ""}-${version}.json`);
}

/** Problems with `obj` as `apiVersion`/`kind` define it; empty when valid. */
export function validateK8s(obj: { apiVersion?: unknown; kind?: unknown }): string[] {
    if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
        return ["object has no apiVersion/kind"];
    }
    const file = schemaFile(obj.apiVersion, obj.kind);
    let validate = compiled.get(file);
    if (!validate) {
        if (!fs.existsSync(file)) {
            return [`no schema for ${obj.apiVersion} ${obj.kind} (${path.basename(file)}); add it to test/data/k8s-schemas`];
        }
        const schema = JSON.parse(fs.readFileSync(file, "utf8"));
        delete schema.$schema;
        validate = ajv.compile(schema);
        compiled.set(file, validate);
    }
    if (validate(obj)) {
        return [];
    }
    return (validate.errors ?? []).map((e) => {
        const extra = (e.params as { additionalProperty?: string }).additionalProperty;
        return `${e.instancePath || "/"} ${e.message}${extra ? ` (${extra})` : ""}`;
    });
}
