/**
 * S3Client: the S3 calls the stack makes (buckets, a marker object, listing and deleting objects),
 * path-style, over the one HttpClient, each request signed with AWS Signature V4 by `aws4`.
 */
import aws4 from "aws4";
import { ApiError, HttpClient, type ApiRequest } from "../../http";
import { sharedClient } from "../../dynamic/clients";
import { endpointProblem, s3Defaults, s3Tuning, type S3ConnectionInputs } from "./connection";
import { parseObjectList, xmlValue, type S3Object } from "./xml";

export interface S3ClientOptions extends S3ConnectionInputs {
  /** Names the caller in messages, e.g. `S3Bucket "backups"`. */
  context?: string;
  /** Injected for tests; such a client is never shared. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

/** S3's error body: `<Error><Code>…</Code><Message>…</Message></Error>`. */
export function describeS3Error(body: unknown): { code?: string; message?: string } {
  if (typeof body !== "string") return {};
  return { code: xmlValue(body, "Code"), message: xmlValue(body, "Message") };
}

export class S3Client {
  private readonly http: HttpClient;
  readonly endpoint: string;

  constructor(options: S3ClientOptions) {
    const context = options.context ?? "S3";
    const endpoint = options.endpoint ?? s3Defaults.endpoint;
    const problem = endpointProblem(endpoint);
    if (problem) throw new Error(`${context}: the S3 endpoint ${problem}.`);
    const { accessKeyId, secretAccessKey } = options;
    if (!accessKeyId || !secretAccessKey) {
      throw new Error(
        `${context}: no S3 credentials. Set the secrets sophia:backupAccessKeyId and sophia:backupSecretAccessKey in the stack's ESC ` +
          "environment (for Tigris: `fly storage create`, or the Tigris console's access keys).",
      );
    }
    const region = options.region ?? s3Defaults.region;
    const tuning = s3Tuning();
    this.endpoint = endpoint;
    const make = () =>
      new HttpClient({
        api: `S3 (${endpoint})`,
        baseUrl: `${options.useSsl === false ? "http" : "https"}://${endpoint}`,
        token: secretAccessKey,
        redact: [accessKeyId],
        retry: tuning.retry,
        timeoutMs: tuning.requestTimeoutMs,
        describeError: describeS3Error,
        fetch: options.fetch,
        sleep: options.sleep,
        sign: ({ method, url, headers, body }) => {
          const signed = aws4.sign(
            { host: url.host, path: `${url.pathname}${url.search}`, method, headers: { ...headers }, body, service: "s3", region },
            { accessKeyId, secretAccessKey },
          );
          // fetch sets Host and Content-Length itself, from the same URL and body.
          const out: Record<string, string> = {};
          for (const [name, value] of Object.entries(signed.headers ?? {})) {
            if (!["host", "content-length"].includes(name.toLowerCase())) out[name] = String(value);
          }
          return out;
        },
      });
    this.http = options.fetch || options.sleep ? make() : sharedClient(`s3\n${endpoint}\n${accessKeyId}\n${secretAccessKey}\n${JSON.stringify(tuning)}`, make);
  }

  /** "mine" (200), "missing" (404) or "forbidden" (403: it exists under another account). */
  async headBucket(bucket: string): Promise<"mine" | "missing" | "forbidden"> {
    const res = await this.call({ method: "HEAD", path: `/${seg(bucket)}`, operation: "look up bucket", resource: `"${bucket}"`, acceptStatuses: [403, 404] });
    return res.status === 404 ? "missing" : res.status === 403 ? "forbidden" : "mine";
  }

  /**
   * Creates the bucket. A lost answer is never sent again blindly: `recover` looks for what the
   * first attempt made ("recovered" when it found it). Answers "exists" when the name is taken (by us or anyone).
   */
  async createBucket(bucket: string, recover: () => Promise<true | undefined>): Promise<"created" | "recovered" | "exists"> {
    const res = await this.call<unknown>({
      method: "PUT",
      path: `/${seg(bucket)}`,
      operation: "create bucket",
      resource: `"${bucket}"`,
      idempotent: false,
      recover,
      acceptStatuses: [409],
    });
    if (res.status === 409) return "exists";
    return res.data === true ? "recovered" : "created";
  }

  /** Lists the account's buckets: a cheap request that tells refused credentials from a refused bucket. */
  async checkCredentials(): Promise<void> {
    await this.call({ method: "GET", path: "/", operation: "list buckets", resource: "of the account" });
  }

  /** Returns false when the bucket was already gone. */
  async deleteBucket(bucket: string): Promise<boolean> {
    const res = await this.call({ method: "DELETE", path: `/${seg(bucket)}`, operation: "delete bucket", resource: `"${bucket}"`, acceptStatuses: [404] });
    return res.status !== 404;
  }

  async putObject(bucket: string, key: string, content: string, contentType = "text/plain"): Promise<void> {
    await this.call({ method: "PUT", path: `/${seg(bucket)}/${keyPath(key)}`, operation: "write object", resource: `"${key}" in bucket "${bucket}"`, rawBody: { content, contentType } });
  }

  /** The object's text, or undefined when there is none. */
  async getObject(bucket: string, key: string): Promise<string | undefined> {
    const res = await this.call<unknown>({ method: "GET", path: `/${seg(bucket)}/${keyPath(key)}`, operation: "read object", resource: `"${key}" in bucket "${bucket}"`, acceptStatuses: [404] });
    if (res.status === 404) return undefined;
    return typeof res.data === "string" ? res.data : JSON.stringify(res.data);
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    await this.call({ method: "DELETE", path: `/${seg(bucket)}/${keyPath(key)}`, operation: "delete object", resource: `"${key}" in bucket "${bucket}"`, acceptStatuses: [404] });
  }

  /** Objects under `prefix`, every page, or the first `limit`. */
  async listObjects(bucket: string, prefix = "", limit = Infinity): Promise<S3Object[]> {
    const objects: S3Object[] = [];
    let token: string | undefined;
    do {
      const res = await this.call<unknown>({
        method: "GET",
        path: `/${seg(bucket)}`,
        operation: "list objects",
        resource: `in bucket "${bucket}"${prefix ? ` under "${prefix}"` : ""}`,
        query: { "list-type": 2, prefix: prefix || undefined, "max-keys": Number.isFinite(limit) ? Math.min(1000, limit) : undefined, "continuation-token": token },
      });
      const page = parseObjectList(String(res.data ?? ""));
      objects.push(...page.objects);
      token = page.next;
    } while (token !== undefined && objects.length < limit);
    return objects.slice(0, limit);
  }

  private async call<T>(req: ApiRequest<T>) {
    try {
      return await this.http.request(req);
    } catch (err) {
      if (err instanceof ApiError && err.status === 403 && err.code !== "AccessDenied") {
        throw new ApiError(
          `${err.message}. The S3 credentials were refused (${err.code ?? "403"}): check sophia:backupAccessKeyId and sophia:backupSecretAccessKey in the stack's ESC environment`,
          err.status,
          err.code,
          err.operation,
          err.resource,
          err.apiMessage,
          err.ambiguous,
        );
      }
      throw err;
    }
  }
}

/** A bucket name as a path segment. */
function seg(value: string): string {
  return encodeURIComponent(value);
}

/** An object key as a path: each segment encoded, the slashes kept. */
function keyPath(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}
