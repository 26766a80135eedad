/**
 * S3Bucket: an S3-compatible bucket the stack owns (Tigris by default), for backups that must
 * outlive a region. A create is safe to repeat: it looks first, adopts a bucket that carries this
 * stack's marker object (or an empty, unmarked one: what a create whose answer was lost leaves),
 * and refuses any other bucket under the name. Buckets carry no tags on every S3-compatible store
 * (s3rver has none; Tigris has them), but every store has objects, so the marker is an object.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { S3Client } from "../api/client";
import { endpointProblem, s3Defaults, type S3ConnectionInputs } from "../api/connection";
import { validate } from "../../dynamic/check";
import { changedKeys } from "../../dynamic/diff";
import { markerOr, notOursError, ownership, type Marked } from "../../dynamic/identity";
import { resourceMarker, withSecretOutputs } from "../../dynamic/resource";

/** The object whose content names the stack and resource that own the bucket. */
export const BUCKET_MARKER_KEY = ".sophia/owner";

export interface S3BucketArgs {
  /** Bucket name, global on most stores (3–63 lower-case letters, digits, dots, dashes). Changing it replaces the bucket. */
  name: pulumi.Input<string>;
  /** host[:port] of the S3 API, no scheme. Changing it replaces the bucket. @default fly.storage.tigris.dev */
  endpoint?: pulumi.Input<string>;
  /** https when true. @default true */
  useSsl?: pulumi.Input<boolean>;
  /** Signing region. @default "auto" */
  region?: pulumi.Input<string>;
  /** Credentials; secret in state. */
  accessKeyId: pulumi.Input<string>;
  secretAccessKey: pulumi.Input<string>;
}

export interface S3BucketInputs extends S3ConnectionInputs, Marked {
  name: string;
}

export interface S3BucketOutputs extends S3BucketInputs {
  /** `s3://<name>`. */
  url: string;
  /** "created" or "adopted", at the time the resource was created. */
  origin: "created" | "adopted";
}

const REPLACE_KEYS = ["name", "endpoint"] as const;

function inputSchema() {
  return z.object({
    name: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "bucket names are 3–63 lower-case letters, digits, dots and dashes, starting and ending with a letter or digit"),
    endpoint: z
      .string()
      .optional()
      .superRefine((value, ctx) => {
        const problem = value === undefined ? undefined : endpointProblem(value);
        if (problem) ctx.addIssue({ code: "custom", message: `endpoint ${problem}` });
      }),
    useSsl: z.boolean().optional(),
    region: z.string().min(1).optional(),
    accessKeyId: z.string().min(1, "accessKeyId is required"),
    secretAccessKey: z.string().min(1, "secretAccessKey is required"),
    marker: z.string().optional(),
  });
}

function client(inputs: S3BucketInputs): S3Client {
  return new S3Client({ ...inputs, context: `S3Bucket "${inputs.name}"` });
}

function markerOf(inputs: S3BucketInputs): string {
  return markerOr(inputs.marker, `s3-bucket:${inputs.endpoint ?? s3Defaults.endpoint}/${inputs.name}`);
}

/** Looks for the bucket: ours to adopt (true), none (undefined), or someone else's (throws). */
async function lookFirst(s3: S3Client, inputs: S3BucketInputs): Promise<true | undefined> {
  const name = inputs.name;
  const where = `bucket "${name}" at ${s3.endpoint}`;
  // Never a delete: a bucket that is not ours may hold another stack's backups, the only copy of its data.
  const remedies = { rename: "set sophia:recovery.bucket.name to a name of your own" };
  const found = await s3.headBucket(name);
  if (found === "missing") return undefined;
  if (found === "forbidden") {
    // A HEAD answer has no body: refused credentials also answer 403. Those fail here, with their fix.
    await s3.checkCredentials();
    throw notOursError(`create ${where}: a bucket with this name`, "it belongs to another account (S3 bucket names are global)", remedies);
  }
  const marker = await s3.getObject(name, BUCKET_MARKER_KEY);
  const owner = ownership(marker?.trim(), markerOf(inputs));
  if (owner === "ours") return true;
  if (owner === "foreign") throw notOursError(`create ${where}`, `its marker (${BUCKET_MARKER_KEY}) names another stack or resource (${marker?.trim()}), whose backups it may hold (a stack cannot take over another stack's bucket)`, remedies);
  // Unmarked: empty is our own create whose answer was lost; anything in it is someone's data.
  if ((await s3.listObjects(name, "", 1)).length === 0) return true;
  throw notOursError(`create ${where}`, `it holds objects, which may be backups, and carries no marker of this stack (${BUCKET_MARKER_KEY})`, remedies);
}

export const s3BucketProvider = {
  async check(_olds: Partial<S3BucketInputs>, news: S3BucketInputs) {
    const { failures } = validate(inputSchema(), news);
    return { inputs: news, failures };
  },

  async diff(_id: string, olds: S3BucketOutputs, news: S3BucketInputs) {
    const replaces = changedKeys(olds, news, REPLACE_KEYS);
    const updates = changedKeys(olds, news, ["useSsl", "region", "accessKeyId", "secretAccessKey"] as const);
    return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: S3BucketInputs) {
    const s3 = client(inputs);
    let origin: S3BucketOutputs["origin"] = "adopted";
    if (!(await lookFirst(s3, inputs))) {
      const answer = await s3.createBucket(inputs.name, () => lookFirst(s3, inputs));
      // Taken between our look and our create: look again, which adopts ours or refuses.
      if (answer === "exists") await lookFirst(s3, inputs);
      else if (answer === "created") origin = "created";
    }
    await s3.putObject(inputs.name, BUCKET_MARKER_KEY, markerOf(inputs));
    return { id: inputs.name, outs: outputs(inputs, origin) };
  },

  async read(id: string, props: S3BucketOutputs) {
    const found = await client(props).headBucket(id);
    if (found === "missing") return {};
    return { id, props };
  },

  async update(_id: string, olds: S3BucketOutputs, news: S3BucketInputs) {
    // Only connection settings and credentials reach here; the bucket itself stays.
    return { outs: outputs(news, olds.origin) };
  },

  /** Empties and deletes the bucket: only reached where the stack does not retain its data (dev). */
  async delete(id: string, props: S3BucketOutputs) {
    const s3 = client(props);
    if ((await s3.headBucket(id)) === "missing") return;
    for (const object of await s3.listObjects(id)) await s3.deleteObject(id, object.key);
    await s3.deleteBucket(id);
  },
};

function outputs(inputs: S3BucketInputs, origin: S3BucketOutputs["origin"]): S3BucketOutputs {
  return { ...inputs, url: `s3://${inputs.name}`, origin };
}

/** An S3-compatible bucket. `pulumi-nodejs:dynamic/s3:Bucket`. */
export class S3Bucket extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly url: pulumi.Output<string>;
  declare readonly origin: pulumi.Output<string>;

  constructor(name: string, args: S3BucketArgs, opts?: pulumi.CustomResourceOptions) {
    super(s3BucketProvider, name, { ...args, marker: resourceMarker(name), url: undefined, origin: undefined }, withSecretOutputs(opts, ["accessKeyId", "secretAccessKey"]), "s3", "Bucket");
  }
}
