/** The plan reads Pulumi.<stack>.yaml as the Pulumi CLI hands it to the program. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { readStackFile } from "../../src/planner/stack-file";
import { errorOf } from "../helpers/errors";

/** Reads `text` as the stack file of "test". */
function read(text: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-file-"));
  fs.writeFileSync(path.join(dir, "Pulumi.test.yaml"), text);
  return readStackFile(dir, "test");
}

describe("readStackFile", () => {
  it("reads a blank top-level value as the empty string, as Pulumi does", () => {
    expect(read("config:\n  sophia:appPrefix:\n  sophia:flyOrg: ~\n").config).toEqual({ "sophia:appPrefix": "", "sophia:flyOrg": "" });
  });

  it("passes a plain scalar as written and a quoted one as its value", () => {
    expect(read("config:\n  a:price: 1.50\n  a:quoted: '007'\n  a:flag: true\n").config).toEqual({ "a:price": "1.50", "a:quoted": "007", "a:flag": "true" });
  });

  it("keeps a null inside a mapping, where it removes a profile value", () => {
    expect(JSON.parse(read("config:\n  sophia:services:\n    weaviate:\n      volumeGb: null\n").config["sophia:services"])).toEqual({ weaviate: { volumeGb: null } });
  });

  it("resolves anchors and << merge keys", () => {
    const text = "config:\n  sophia:services:\n    weaviate: &small\n      cpus: 1\n      memoryMb: 256\n    agent-ui:\n      <<: *small\n      memoryMb: 512\n";
    expect(JSON.parse(read(text).config["sophia:services"])).toEqual({ weaviate: { cpus: 1, memoryMb: 256 }, "agent-ui": { cpus: 1, memoryMb: 512 } });
  });

  it("keeps an encrypted value out of the config and lists its key", () => {
    const file = read("config:\n  sophia:databaseUrl:\n    secure: v1:abc\n");
    expect([file.config, file.secureKeys]).toEqual([{}, ["sophia:databaseUrl"]]);
  });

  it("drops an encrypted value inside a mapping and says so", () => {
    const file = read("config:\n  sophia:services:\n    weaviate:\n      image:\n        secure: v1:abc\n      cpus: 1\n");
    expect(JSON.parse(file.config["sophia:services"])).toEqual({ weaviate: { cpus: 1 } });
    expect(file.notes).toEqual([expect.stringMatching(/^sophia:services\.weaviate\.image is encrypted in Pulumi\.test\.yaml; the plan cannot decrypt it/)]);
  });

  it("reads environment as a list of names", () => {
    expect(read("environment:\n  - sophia/dev\n  - shared/tools@stable\n").environments).toEqual(["sophia/dev", "shared/tools@stable"]);
  });

  it("reads environment as a definition whose imports may carry options", () => {
    expect(read("environment:\n  imports:\n    - sophia/dev\n    - sophia/extra: {merge: false}\n").environments).toEqual(["sophia/dev", "sophia/extra"]);
  });

  it("counts mainEnvironment among the stack's environments", () => {
    expect(read("mainEnvironment: sophia/dev@3\nconfig: {}\n").environments).toEqual(["sophia/dev@3"]);
  });

  it("notes a top-level key Pulumi ignores, such as one that only holds anchors", () => {
    expect(read("x-defaults: &d {cpus: 1}\nconfig:\n  sophia:profile: single-user-lax\n").notes).toEqual([
      expect.stringMatching(/Pulumi ignores the top-level key "x-defaults"/),
    ]);
  });

  it("refuses a duplicate key, as Pulumi's parser does", () => {
    expect(errorOf(() => read("config:\n  sophia:profile: a\n  sophia:profile: b\n"))).toMatch(/Pulumi\.test\.yaml is not valid YAML: .*unique/i);
  });
});
