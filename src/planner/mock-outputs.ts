/**
 * What the mock engine answers for each resource type: the outputs a real provider would compute,
 * with documentation-range addresses (RFC 5737 / RFC 3849) so nothing looks like a real host.
 */
import { TYPES } from "../estimate/resources";

type Inputs = Record<string, unknown>;

function hash(text: string): number {
  let h = 2166136261;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h;
}

const byType: Record<string, (name: string, inputs: Inputs) => Inputs> = {
  [TYPES.app]: (_name, inputs) => ({ status: "pending", hostname: `${String(inputs.name)}.fly.dev` }),
  [TYPES.volume]: (name) => ({ volumeId: `vol_${hash(name).toString(16)}`, state: "created" }),
  [TYPES.machine]: (name) => ({ machineId: hash(name).toString(16), state: "started" }),
  [TYPES.ip]: (name, inputs) => ({
    address: String(inputs.type).endsWith("v6") ? `2001:db8::${(hash(name) % 0xffff).toString(16)}` : `192.0.2.${hash(name) % 254 + 1}`,
  }),
  [TYPES.certificate]: (_name, inputs) => ({
    dnsRequirements: {
      a: ["192.0.2.1"],
      aaaa: ["2001:db8::1"],
      cname: `${String(inputs.app)}.fly.dev`,
      acmeChallenge: { name: `_acme-challenge.${String(inputs.hostname)}`, target: `${String(inputs.hostname)}.${String(inputs.app)}.flydns.net` },
    },
  }),
  [TYPES.secrets]: () => ({ version: 1 }),
  [TYPES.bucket]: (_name, inputs) => ({ url: `s3://${String(inputs.name)}`, origin: "created" }),
  // A plan is a first deployment: the data has not moved, and no restore runs.
  [TYPES.recoveryRegion]: () => ({}),
  [TYPES.recoveryRestore]: (_name, inputs) => ({ skipped: `first deployment of ${String(inputs.service)}: nothing to restore` }),
  [TYPES.gpuInstance]: (name) => ({ ip: `198.51.100.${hash(name) % 254 + 1}`, status: "active" }),
  [TYPES.gpuFilesystem]: (_name, inputs) => ({ mountPoint: `/lambda/nfs/${String(inputs.name)}`, isInUse: false }),
  // A generated key's name in Lambda carries a digest of its marker; the plan shows the requested name.
  [TYPES.gpuSshKey]: (_name, inputs) => ({ keyName: inputs.name, privateKey: "plan-generated-private-key" }),
  [TYPES.dockerImage]: (name, inputs) => ({
    repoDigest: `${String(inputs.imageName).replace(/:[^:/]*$/, "")}@sha256:${hash(name).toString(16).padStart(64, "0")}`,
  }),
  // Marked secret by the random provider's own additionalSecretOutputs.
  [TYPES.randomPassword]: (name) => ({ result: `plan-generated-${name}` }),
};

export function mockOutputs(type: string, name: string, inputs: Inputs): Inputs {
  return byType[type]?.(name, inputs) ?? {};
}
