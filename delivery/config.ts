// The delivery project's config: every key declared once (type, default, rule), read and validated
// here only, every problem reported at once naming the key, the bad value and what is allowed.
// delivery/Pulumi.yaml declares the same keys for the CLI; test/delivery.test.ts keeps them in step.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../config";

/** How the notification webhook formats its payload (pulumiservice WebhookFormat, minus deployments). */
export const NOTIFY_FORMATS = ["raw", "slack", "ms_teams"] as const;
export type NotifyFormat = (typeof NOTIFY_FORMATS)[number];

interface KeyDecl {
    readonly type: "string" | "array";
    readonly description: string;
    readonly default?: string | readonly string[];
    readonly secret?: boolean;
    readonly required?: boolean;
    readonly pattern?: RegExp;
    readonly patternHint?: string;
    readonly oneOf?: readonly string[];
}

const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

export const DELIVERY_SCHEMA = {
    org: {
        type: "string", required: true, pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/, patternHint: "a Pulumi organization name",
        description: "Pulumi Cloud organization owning the app stacks: the OIDC audience and the first part of every token subject.",
    },
    repository: {
        type: "string", required: true, pattern: /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, patternHint: "owner/name of a GitHub repository",
        description: "GitHub repository holding this code (owner/name); Pulumi's GitHub app must be installed on it.",
    },
    branch: { type: "string", default: "main", pattern: /^[A-Za-z0-9._/-]+$/, patternHint: "a git branch name", description: "Branch every stack deploys from." },
    appProject: { type: "string", default: "flask-platform", pattern: /^[A-Za-z0-9_.-]+$/, patternHint: "a Pulumi project name", description: "The app's Pulumi project (name in ../Pulumi.yaml)." },
    appDir: { type: "string", default: ".", pattern: /^[A-Za-z0-9_./-]+$/, patternHint: "a path inside the repository", description: "Directory of the app's Pulumi.yaml inside the repository." },
    stacks: { type: "array", default: ["dev", "prod"], description: "App stacks to deliver; each gets a deploy role, a boundary and deployment settings." },
    pushStack: { type: "string", default: "dev", description: "The stack `pulumi up` runs on for every push to `branch` (one of `stacks`)." },
    promoteTo: { type: "string", default: "prod", description: "The stack deployed only after `pushStack`'s update succeeded (one of `stacks`, not `pushStack`)." },
    driftCron: {
        type: "string", default: "0 6 * * *", pattern: /^((\S+\s+){4}\S+|off)$/, patternHint: "a five-field cron expression, or off",
        description: "When drift detection runs on `promoteTo` (UTC cron); `off` where the Pulumi edition has no drift detection (Team).",
    },
    oidcProviderArn: {
        type: "string", pattern: /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/api\.pulumi\.com\/oidc$/, patternHint: "arn:aws:iam::<account>:oidc-provider/api.pulumi.com/oidc",
        description: "Adopt this account's existing provider for https://api.pulumi.com/oidc (an account holds one per URL) instead of creating one; it must list `org` as an audience.",
    },
    notifyUrl: { type: "string", secret: true, description: "Secret. Where failed updates, failed deployments and drift are posted (e.g. a Slack incoming webhook). Empty: no notifications." },
    notifyFormat: { type: "string", default: "slack", oneOf: NOTIFY_FORMATS, description: "Payload format of the notification webhook." },
    // --- Issue 11 §2/§4: the AWS roles of .github/workflows/deploy.yml (delivery/githubActions.ts). ---
    githubActionsStacks: {
        type: "array", default: [],
        description: "Stacks GitHub Actions deploys (deploy.yml's STACK): each gets a role trusted for repo:<repository>:environment:<stack>, with the stack's deploy policies. Empty: none, and no GitHub OIDC provider.",
    },
    githubOidcProviderArn: {
        type: "string", pattern: /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/,
        patternHint: "arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com",
        description: "Adopt this account's existing provider for https://token.actions.githubusercontent.com instead of creating one; it must list sts.amazonaws.com as an audience.",
    },
} as const satisfies Record<string, KeyDecl>;

export type DeliveryKey = keyof typeof DELIVERY_SCHEMA;

export interface DeliveryConfig {
    readonly org: string;
    readonly repository: string;
    readonly branch: string;
    readonly appProject: string;
    readonly appDir: string;
    readonly stacks: readonly string[];
    readonly pushStack: string;
    readonly promoteTo: string;
    readonly driftCron: string;
    readonly oidcProviderArn?: string;
    /** Present when set; a secret Output in a real run. */
    readonly notifyUrl?: pulumi.Input<string>;
    readonly notifyFormat: NotifyFormat;
    /** Stacks with a GitHub Actions deploy role; empty: no GitHub OIDC provider either. */
    readonly githubActionsStacks: readonly string[];
    readonly githubOidcProviderArn?: string;
}

const quote = (v: string) => JSON.stringify(v);

/** Validates raw config strings (as the CLI hands them over); throws one ConfigError with every problem. */
export function parseDeliveryConfig(raw: Readonly<Record<string, string | undefined>>): DeliveryConfig {
    const problems: string[] = [];
    for (const key of Object.keys(raw)) {
        if (!(key in DELIVERY_SCHEMA)) {
            problems.push(`unknown config key ${quote(key)}; known keys: ${Object.keys(DELIVERY_SCHEMA).join(", ")}`);
        }
    }
    const str = (key: DeliveryKey): string | undefined => {
        const spec: KeyDecl = DELIVERY_SCHEMA[key];
        const v = raw[key];
        if (v === undefined || v === "") {
            if (spec.required) {
                problems.push(`${key} is required (${spec.patternHint ?? spec.description})`);
            }
            return typeof spec.default === "string" ? spec.default : undefined;
        }
        if (spec.oneOf && !spec.oneOf.includes(v)) {
            problems.push(`${key} must be one of ${spec.oneOf.join(", ")} (got ${quote(v)})`);
        } else if (spec.pattern && !spec.pattern.test(v)) {
            problems.push(`${key} must be ${spec.patternHint} (got ${quote(v)})`);
        }
        return v;
    };
    const org = str("org") ?? "";
    const repository = str("repository") ?? "";
    let stacks: string[] = [...DELIVERY_SCHEMA.stacks.default];
    const rawStacks = raw.stacks;
    if (rawStacks !== undefined && rawStacks !== "") {
        let parsed: unknown;
        try {
            parsed = JSON.parse(rawStacks);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((s) => typeof s === "string" && STACK_NAME.test(s)) || new Set(parsed).size !== parsed.length) {
            problems.push(`stacks must be a non-empty list of distinct stack names such as ["dev","prod"] (got ${rawStacks})`);
        } else {
            stacks = parsed as string[];
        }
    }
    const member = (key: "pushStack" | "promoteTo"): string => {
        const v = str(key) ?? "";
        if (!stacks.includes(v)) {
            problems.push(`${key} must be one of the stacks ${stacks.join(", ")} (got ${quote(v)})`);
        }
        return v;
    };
    let githubActionsStacks: string[] = [];
    const rawGithub = raw.githubActionsStacks;
    if (rawGithub !== undefined && rawGithub !== "") {
        let parsed: unknown;
        try {
            parsed = JSON.parse(rawGithub);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === "string") || new Set(parsed).size !== parsed.length) {
            problems.push(`githubActionsStacks must be a list of distinct stack names such as ["dev"] (got ${rawGithub})`);
        } else {
            githubActionsStacks = parsed as string[];
            const unknown = githubActionsStacks.filter((s) => !stacks.includes(s));
            if (unknown.length > 0) {
                problems.push(`githubActionsStacks must name stacks among ${stacks.join(", ")} (got ${unknown.map(quote).join(", ")}): the role takes that stack's deploy policies`);
            }
        }
    }
    const pushStack = member("pushStack");
    const promoteTo = member("promoteTo");
    if (pushStack === promoteTo) {
        problems.push(`promoteTo must differ from pushStack (both ${quote(pushStack)}): a stack cannot be promoted after itself`);
    }
    const config: DeliveryConfig = {
        org, repository,
        branch: str("branch") ?? "main",
        appProject: str("appProject") ?? "flask-platform",
        appDir: str("appDir") ?? ".",
        stacks, pushStack, promoteTo,
        driftCron: str("driftCron") ?? "0 6 * * *",
        oidcProviderArn: str("oidcProviderArn"),
        notifyUrl: str("notifyUrl"),
        notifyFormat: (str("notifyFormat") ?? "slack") as NotifyFormat,
        githubActionsStacks,
        githubOidcProviderArn: str("githubOidcProviderArn"),
    };
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return config;
}

/** Reads the delivery stack's config from the Pulumi runtime (CLI or mocks) and validates it. */
export function loadDeliveryConfig(): DeliveryConfig {
    const prefix = `${pulumi.getProject()}:`;
    const raw: Record<string, string> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (key.startsWith(prefix)) {
            raw[key.slice(prefix.length)] = value;
        }
    }
    const config = parseDeliveryConfig(raw);
    // The URL embeds the receiver's credential (a Slack hook's path is its secret): keep it secret.
    return config.notifyUrl === undefined ? config : { ...config, notifyUrl: pulumi.secret(config.notifyUrl) };
}
