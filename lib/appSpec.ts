// Bring your own app (issue 16 §1): the app a stack ships, as config names it, and how each target
// renders it. One resolution, three renderings, so the same `appEnv`, `appSecrets`, port and health
// paths reach Elastic Beanstalk's option settings, the ECS task definition and the Kubernetes
// Deployment identically (test/appSpec.test.ts compares the three).
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** The app as config describes it, validated (config.ts `app`). */
export interface AppSpec {
    /** Absolute path of the source directory (the Beanstalk bundle, or the image's build context). */
    readonly dir: string;
    /** As configured (relative to the project root), for messages and docs. */
    readonly sourceDir: string;
    /** Plain environment variables, by name. */
    readonly env: Readonly<Record<string, string>>;
    /** Environment variable name -> Secrets Manager secret ARN; the value is injected at start. */
    readonly secrets: Readonly<Record<string, string>>;
    readonly port: number;
    /** Shallow liveness: load balancer health checks, container health check, liveness probe. */
    readonly healthPath: string;
    /** Deep readiness (dependencies answer): the Kubernetes readiness probe and the release check. */
    readonly readyPath: string;
}

/** POSIX-portable variable names, as ECS, Beanstalk and Kubernetes all accept them. */
export const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * Names the program sets itself on every target: the database connection (DB_*), the port, the
 * release the verify work adds (APP_RELEASE) and the worker count ECS and EKS size to the task or
 * pod (WEB_CONCURRENCY). A second definition would be a duplicate entry whose winner differs per
 * platform.
 */
export function reservedEnvName(name: string): boolean {
    return name.startsWith("DB_") || ["PORT", "APP_RELEASE", "WEB_CONCURRENCY"].includes(name);
}

/**
 * A Secrets Manager secret ARN (IAM User Guide, "Resource types defined by AWS Secrets Manager":
 * arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}). The full ARN with its
 * six-character suffix is what ECS `valueFrom` and Beanstalk's environmentsecrets take; a JSON key
 * selector (`:key::`) is ECS-only, so it is refused to keep the three targets identical.
 * The suffix (`-` and six characters Secrets Manager appends) is required: IAM matches
 * GetSecretValue against the full ARN, so a grant on a partial ARN never matches and ECS tasks fail
 * with ResourceInitializationError (Secrets Manager User Guide, troubleshoot.html, "ARN ... secret
 * name ending with a hyphen and six characters").
 */
export const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z]{2}(-[a-z]+)+-\d:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;

export const HTTP_PATH = /^\/[A-Za-z0-9._~/-]*$/;

/** Problems with a map of environment variable names (plain or secret), worded with the config key. */
export function envNameProblems(key: string, names: readonly string[]): string[] {
    const problems: string[] = [];
    for (const n of names) {
        if (!ENV_NAME.test(n)) {
            problems.push(`${key} has the variable name ${JSON.stringify(n)}: names must match [A-Z_][A-Z0-9_]* (upper case letters, digits, underscores, not starting with a digit)`);
        } else if (reservedEnvName(n)) {
            problems.push(`${key} sets ${n}, which the program sets itself (reserved: DB_*, PORT, APP_RELEASE, WEB_CONCURRENCY): use appPort for the port, or another name`);
        }
    }
    return problems;
}

/**
 * What a target needs in the source directory: a Dockerfile for an image (ECS, EKS); for Elastic
 * Beanstalk's Python platform a Procfile, or an application.py whose `application` WSGI callable it
 * runs by default (EB DG, python-configuration-procfile: "If you don't provide a Procfile, Elastic
 * Beanstalk ... runs gunicorn application:application"; create-deploy-python-apps).
 */
export function appSourceProblems(sourceDir: string, dir: string, target: string): string[] {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
        return [`appSourceDir ${JSON.stringify(sourceDir)} is not a directory (resolved to ${dir}; relative paths start at the project root, where Pulumi.yaml is)`];
    }
    const has = (f: string) => fs.existsSync(path.join(dir, f));
    if ((target === "ecs" || target === "eks") && !has("Dockerfile")) {
        return [`appSourceDir ${JSON.stringify(sourceDir)} has no Dockerfile: target ${target} builds the app's image from <appSourceDir>/Dockerfile`];
    }
    if (target === "beanstalk" && !has("Procfile") && !has("application.py")) {
        return [`appSourceDir ${JSON.stringify(sourceDir)} has neither a Procfile nor an application.py: Elastic Beanstalk's Python platform runs the Procfile's web process, or gunicorn application:application without one`];
    }
    return [];
}

function sorted<T>(map: Readonly<Record<string, T>>): [string, T][] {
    return Object.keys(map).sort().map((k) => [k, map[k]]);
}

// --- Renderings. Names in sorted order, so every target lists them alike and a plan is stable. ---

/** Elastic Beanstalk `aws:elasticbeanstalk:application:environment` entries. */
export function beanstalkEnvironment(app: AppSpec): Record<string, string> {
    return Object.fromEntries(sorted(app.env));
}

/**
 * Elastic Beanstalk `aws:elasticbeanstalk:application:environmentsecrets` entries: the value is the
 * secret's ARN, fetched at instance bootstrap into the variable ("Elastic Beanstalk can fetch values
 * from AWS Secrets Manager ... during instance bootstrapping and assign them to environment
 * variables"; platform versions released on or after March 26, 2025; "When secret values are
 * updated or rotated ... you must manually refresh your environment variables": EB DG,
 * https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/AWSHowTo.secrets.env-vars.html), as for
 * DB_SECRET in targets/beanstalk.ts.
 */
export function beanstalkSecrets(app: AppSpec): Record<string, string> {
    return Object.fromEntries(sorted(app.secrets));
}

/** ECS container `environment` entries. */
export function ecsEnvironment(app: AppSpec): { name: string; value: string }[] {
    return sorted(app.env).map(([name, value]) => ({ name, value }));
}

/** ECS container `secrets`: the agent resolves `valueFrom` at task start with the execution role. */
export function ecsSecrets(app: AppSpec): { name: string; valueFrom: string }[] {
    return sorted(app.secrets).map(([name, valueFrom]) => ({ name, valueFrom }));
}

/** The Kubernetes Secret the EKS target syncs the app's secrets into (one key per variable). */
export const K8S_APP_SECRET = "app-secrets";

/** Kubernetes container `env` entries: plain values, then each secret from the synced Secret. */
export function kubernetesEnv(app: AppSpec, secretName: pulumi.Input<string>): k8s.types.input.core.v1.EnvVar[] {
    return [
        ...sorted(app.env).map(([name, value]) => ({ name, value })),
        ...sorted(app.secrets).map(([name]) => ({ name, valueFrom: { secretKeyRef: { name: secretName, key: name } } })),
    ];
}

/**
 * Read access to exactly the app's secrets, for the identity that resolves them (ECS execution
 * role, Beanstalk instance role). Secrets encrypted with the default aws/secretsmanager key need no
 * KMS grant; a customer managed key must allow the role in its key policy (docs/bring-your-own-app.md).
 */
export function appSecretReadStatements(app: AppSpec): aws.iam.PolicyStatement[] {
    const arns = Object.values(app.secrets);
    if (arns.length === 0) {
        return [];
    }
    const unique = [...new Set(arns)].sort();
    return [{ Sid: "AppSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: unique }];
}
