// What `pulumi destroy` keeps (issue 10, item 4): a stack that promises a final snapshot and
// retained automated backups must also keep the KMS key they are encrypted with.
import * as assert from "assert";
import { CloudMemory } from "../harness/cloudMemory";
import { input, one, planStack } from "./helpers";

const KEY = "aws:kms/key:Key";
const ALIAS = "aws:kms/alias:Alias";

describe("teardown", function () {
    this.timeout(120000);

    it("keeps the database's KMS key and alias after destroy when a final snapshot and backups outlive the stack", async () => {
        const memory = new CloudMemory();
        const prod = await planStack("prod", [], { cloud: { memory } });
        const instance = one(prod, "aws:rds/instance:Instance");
        assert.strictEqual(input(instance, "skipFinalSnapshot"), false);
        assert.strictEqual(input(instance, "deleteAutomatedBackups"), false);
        const record = memory.destroy();
        for (const r of [one(prod, KEY, "-db-key"), one(prod, ALIAS, "-db-key")]) {
            assert.ok(r.options.retainOnDelete, `${r.name} must be retained`);
            assert.ok(record.retained.includes(`${r.type}::${r.name}`), `${r.name} left in the account`);
        }
    });

    it("deletes the key with a disposable database (no final snapshot, no retained backups)", async () => {
        const memory = new CloudMemory();
        const dev = await planStack("dev", [], { cloud: { memory } });
        assert.strictEqual(input(one(dev, "aws:rds/instance:Instance"), "skipFinalSnapshot"), true);
        const record = memory.destroy();
        assert.ok(record.deleted.includes(`${KEY}::${one(dev, KEY, "-db-key").name}`));
        assert.ok(!one(dev, ALIAS, "-db-key").options.retainOnDelete);
    });

    it("follows dbFinalSnapshot, not the stack's name", async () => {
        const dev = await planStack("dev", ["dbFinalSnapshot=true"]);
        assert.ok(one(dev, KEY, "-db-key").options.retainOnDelete);
        const prod = await planStack("prod", ["dbFinalSnapshot=false", "dbDeletionProtection=false"]);
        assert.ok(!one(prod, KEY, "-db-key").options.retainOnDelete);
    });
});
