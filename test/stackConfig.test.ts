// The Pulumi CLI's own project-config rules, as harness/stackConfig.ts applies them to every stack
// and `--set` (pulumi/pulumi pkg/workspace/config.go mergeConfig, validateStackConfigValue).
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseConfig, TARGET_NAMES } from "../config";
import { availableStacks, missingKeysMessage, resolveStackConfig, ROOT, SECRET_PLACEHOLDER, StackConfigError } from "../harness/stackConfig";

/** A throwaway project directory with its own Pulumi.yaml and stack files. */
function project(projectYaml: string, stacks: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-config-"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), projectYaml);
    for (const [name, text] of Object.entries(stacks)) {
        fs.writeFileSync(path.join(dir, `Pulumi.${name}.yaml`), text);
    }
    return dir;
}

const DEMO = `name: demo
runtime: nodejs
config:
  domainName:
    type: string
  zone:
    type: string
  size:
    type: integer
    default: 2
  flag:
    type: boolean
    default: false
  tags:
    type: object
    default: {}
  cidrs:
    type: array
    items:
      type: string
    default: []
  aws:region:
    value: us-east-1
`;

/** Asserts the exact message the CLI prints (a StackConfigError, never a program error). */
function refuses(fn: () => unknown, message: string): void {
    assert.throws(fn, (e: unknown) => {
        assert.ok(e instanceof StackConfigError, `expected StackConfigError, got ${e}`);
        assert.strictEqual(e.message, message);
        return true;
    });
}

describe("the Pulumi CLI's config rules (harness/stackConfig.ts)", () => {
    it("formats missing keys as the CLI does", () => {
        assert.strictEqual(missingKeysMessage("dev", ["domainName"]), "Stack 'dev' is missing configuration value 'domainName'");
        assert.strictEqual(missingKeysMessage("dev", ["zone", "domainName"]), "Stack 'dev' is missing configuration values 'domainName' and 'zone'");
        assert.strictEqual(missingKeysMessage("dev", ["c", "a", "b"]), "Stack 'dev' is missing configuration values 'a', 'b' and 'c'");
    });

    it("refuses a stack that misses a project key with no default or value", () => {
        const dir = project(DEMO, {
            one: "config:\n  demo:zone: example.com\n",
            none: "config:\n  aws:region: eu-west-1\n",
            both: "config:\n  demo:domainName: app.example.com\n  zone: example.com\n",
        });
        refuses(() => resolveStackConfig("one", [], dir), "Stack 'one' is missing configuration value 'domainName'");
        refuses(() => resolveStackConfig("none", [], dir), "Stack 'none' is missing configuration values 'domainName' and 'zone'");
        // `--set` is `pulumi config set`, so it can supply the key; `key=` removes it like `config rm`.
        assert.strictEqual(resolveStackConfig("one", ["domainName=app.example.com"], dir).values["demo:domainName"], "app.example.com");
        refuses(() => resolveStackConfig("both", ["zone="], dir), "Stack 'both' is missing configuration value 'zone'");
        // An unqualified stack key belongs to the project (loaders.go stackConfigNamespacedWithProject).
        const both = resolveStackConfig("both", [], dir);
        assert.deepStrictEqual(both.values, {
            "demo:domainName": "app.example.com", "demo:zone": "example.com", "demo:size": "2", "demo:flag": "false",
            "demo:tags": "{}", "demo:cidrs": "[]", "aws:region": "us-east-1",
        });
    });

    it("enforces declared types on stack values the way the CLI reads YAML", () => {
        const base = "config:\n  demo:domainName: app.example.com\n  demo:zone: example.com\n";
        const dir = project(DEMO, {
            ok: `${base}  demo:size: "12"\n  demo:flag: "true"\n  demo:tags: {team: a}\n  demo:cidrs: [10.0.0.0/8]\n`,
            // YAML scalars are strings to the CLI: an unquoted number is a fine string value.
            numeric: "config:\n  demo:domainName: 12345\n  demo:zone: true\n",
            float: `${base}  demo:size: 2.5\n`,
            word: `${base}  demo:size: ten\n`,
            yes: `${base}  demo:flag: yes\n`,
            list: "config:\n  demo:domainName: [a, b]\n  demo:zone: example.com\n",
            scalarObject: `${base}  demo:tags: team\n`,
            mixedArray: `${base}  demo:cidrs: [10.0.0.0/8, 7]\n`,
        });
        const ok = resolveStackConfig("ok", [], dir).values;
        assert.deepStrictEqual([ok["demo:size"], ok["demo:flag"], ok["demo:tags"], ok["demo:cidrs"]], ["12", "true", '{"team":"a"}', '["10.0.0.0/8"]']);
        assert.deepStrictEqual(resolveStackConfig("numeric", [], dir).values["demo:domainName"], "12345");
        refuses(() => resolveStackConfig("float", [], dir), "Stack 'float' with configuration key 'size' must be of type 'integer'");
        refuses(() => resolveStackConfig("word", [], dir), "Stack 'word' with configuration key 'size' must be of type 'integer'");
        refuses(() => resolveStackConfig("yes", [], dir), "Stack 'yes' with configuration key 'flag' must be of type 'boolean'");
        refuses(() => resolveStackConfig("list", [], dir), "Stack 'list' with configuration key 'domainName' must be of type 'string'");
        refuses(() => resolveStackConfig("scalarObject", [], dir), "Stack 'scalarObject' with configuration key 'tags' must be of type 'object'");
        refuses(() => resolveStackConfig("mixedArray", [], dir), "Stack 'mixedArray' with configuration key 'cidrs' must be of type 'array<string>'");
    });

    it("types `--set` values as `pulumi config set` stores them: plain strings", () => {
        const dir = project(DEMO, { s: "config:\n  demo:domainName: a.example.com\n  demo:zone: example.com\n" });
        assert.strictEqual(resolveStackConfig("s", ["size=7", "flag=true"], dir).values["demo:size"], "7");
        refuses(() => resolveStackConfig("s", ["size=7.0"], dir), "Stack 's' with configuration key 'size' must be of type 'integer'");
        refuses(() => resolveStackConfig("s", ["flag=1"], dir), "Stack 's' with configuration key 'flag' must be of type 'boolean'");
        // Without --path, `config set` cannot store a list: the string "[...]" is not an array.
        refuses(() => resolveStackConfig("s", ['cidrs=["10.0.0.0/8"]'], dir), "Stack 's' with configuration key 'cidrs' must be of type 'array<string>'");
    });

    it("requires secret keys to be encrypted and never exposes their ciphertext", () => {
        const secretProject = "name: demo\nruntime: nodejs\nconfig:\n  token:\n    type: string\n    secret: true\n";
        const dir = project(secretProject, {
            plain: "config:\n  demo:token: hunter2\n",
            secure: "config:\n  demo:token:\n    secure: AAABAKsdf0ciphertext\n",
        });
        refuses(() => resolveStackConfig("plain", [], dir), "Stack 'plain' with configuration key 'token' must be encrypted as it's secret");
        refuses(() => resolveStackConfig("secure", ["token=hunter2"], dir), "Stack 'secure' with configuration key 'token' must be encrypted as it's secret");
        const c = resolveStackConfig("secure", [], dir);
        assert.strictEqual(c.values["demo:token"], SECRET_PLACEHOLDER);
        assert.deepStrictEqual(c.secretKeys, ["demo:token"]);
        assert.ok(!JSON.stringify(c).includes("ciphertext"));
        // A project default is merged in as plaintext, so a secret key's default never satisfies the CLI.
        const withDefault = project(`${secretProject}    default: ""\n`, { s: "config: {}\n" });
        refuses(() => resolveStackConfig("s", [], withDefault), "Stack 's' with configuration key 'token' must be encrypted as it's secret");
    });

    it("validates the project file as the CLI loads it", () => {
        const bad = (config: string) => project(`name: demo\nruntime: nodejs\nconfig:\n${config}`, { s: "config: {}\n" });
        const cases: [string, string][] = [
            ["  size:\n    type: integer\n    default: big\n", "The default value specified for configuration key 'size' is not of the expected type 'integer'"],
            ["  cidrs:\n    type: array\n    default: []\n", "The configuration key 'cidrs' declares an array but does not specify the underlying type via the 'items' attribute"],
            ["  aws:region:\n    default: us-east-1\n", "Configuration key 'aws:region' is not namespaced by the project and should not define a default value. Did you mean to use the 'value' attribute instead of 'default'?"],
        ];
        for (const [config, message] of cases) {
            const dir = bad(config);
            refuses(() => resolveStackConfig("s", [], dir), `could not unmarshal '${path.join(dir, "Pulumi.yaml")}': ${message}`);
        }
    });
});

describe("this project under the CLI's config rules", () => {
    for (const stack of availableStacks()) {
        it(`Pulumi.${stack}.yaml passes them, and the program reads unset optional keys as unset`, () => {
            const c = resolveStackConfig(stack);
            const prefix = `${c.project}:`;
            const raw = Object.fromEntries(Object.entries(c.values).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
            const parsed = parseConfig(c.project, stack, raw, { implementedTargets: [...TARGET_NAMES] });
            assert.strictEqual(parsed.domain, undefined);
            assert.strictEqual(parsed.beanstalk.solutionStack, raw.ebSolutionStack === "" ? undefined : raw.ebSolutionStack);
            assert.deepStrictEqual(parsed.eks.deployerRoleArns, []);
        });
    }

    it("a stack that sets only `target` runs; one that sets nothing is refused", () => {
        const dir = project(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"), {
            minimal: "config:\n  flask-platform:target: ecs\n",
            empty: "config:\n  aws:region: us-east-1\n",
        });
        const minimal = resolveStackConfig("minimal", [], dir);
        assert.strictEqual(minimal.values["flask-platform:domainName"], "");
        assert.strictEqual(minimal.values["flask-platform:appPort"], "8000");
        assert.strictEqual(minimal.values["flask-platform:eksDeployerRoleArns"], "[]");
        refuses(() => resolveStackConfig("empty", [], dir), "Stack 'empty' is missing configuration value 'target'");
    });

    it("refuses a wrongly typed `--set` on a committed stack with the CLI's words", () => {
        refuses(() => resolveStackConfig("dev", ["minCapacity=two"]), "Stack 'dev' with configuration key 'minCapacity' must be of type 'integer'");
        refuses(() => resolveStackConfig("prod", ["flowLogs=yes"]), "Stack 'prod' with configuration key 'flowLogs' must be of type 'boolean'");
    });

    it("sets a list item by item, as `pulumi config set --path 'key[i]'` does; a JSON string is not a list", () => {
        const role = "arn:aws:iam::123456789012:role/deployer";
        const c = resolveStackConfig("dev", [`eksDeployerRoleArns[0]=${role}`, "eksDeployerRoleArns[1]=arn:aws:iam::123456789012:role/b"]);
        assert.deepStrictEqual(JSON.parse(c.values["flask-platform:eksDeployerRoleArns"]), [role, "arn:aws:iam::123456789012:role/b"]);
        // `pulumi config set key '["..."]'` stores a plain string, which the CLI's type check refuses.
        refuses(() => resolveStackConfig("dev", [`eksDeployerRoleArns=${JSON.stringify([role])}`]),
            "Stack 'dev' with configuration key 'eksDeployerRoleArns' must be of type 'array<string>'");
        assert.throws(() => resolveStackConfig("dev", [`eksDeployerRoleArns[1]=${role}`]), /index 1 is past the end/);
    });
});
