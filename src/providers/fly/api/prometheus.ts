/**
 * Fly's managed Prometheus (VictoriaMetrics underneath), queried over the Prometheus HTTP API with
 * the org's read-only token through the shared HttpClient. Only instant queries: a release is
 * judged on the value of each trigger's expression now, evaluation after evaluation.
 */
import { z } from "zod";
import { HttpClient } from "../../http";
import { flyTuning } from "./connection";

export interface PrometheusOptions {
  /** Base URL without `/api/v1`, e.g. https://api.fly.io/prometheus/<org>. */
  url: string;
  /** Read-only token (`fly tokens create readonly`), bare or with its scheme (`FlyV1 ` or `Bearer `). */
  token: string;
  /** Injected for tests. */
  fetch?: typeof fetch;
}

export interface PrometheusSample {
  labels: Record<string, string>;
  value: number;
}

/** An answer in the Prometheus HTTP API's shape; `result` depends on `resultType`. */
function answerSchema() {
  const point = z.tuple([z.number(), z.string()]);
  return z.object({
    status: z.literal("success"),
    data: z.discriminatedUnion("resultType", [
      z.object({ resultType: z.literal("vector"), result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: point })) }),
      z.object({ resultType: z.literal("scalar"), result: point }),
    ]),
  });
}

export class FlyPrometheus {
  private readonly http: HttpClient;

  constructor(options: PrometheusOptions) {
    const tuning = flyTuning();
    // `fly tokens create readonly` prints the token with its scheme; flyctl sends macaroon tokens
    // as `FlyV1 <token>` (Fly's metrics page shows Bearer with a user token; both are accepted).
    // A token that carries its scheme is sent with it; a bare one is a macaroon.
    const given = /^(FlyV1|Bearer)\s+(.+)$/i.exec(options.token.trim());
    const scheme = given?.[1] ?? "FlyV1";
    this.http = new HttpClient({
      api: "Fly Prometheus",
      baseUrl: options.url.replace(/\/+$/, ""),
      // The credential alone, so that error text is scrubbed of it whatever the scheme.
      token: given?.[2] ?? options.token.trim(),
      authorization: (t) => `${scheme} ${t}`,
      retry: tuning.retry,
      timeoutMs: tuning.requestTimeoutMs,
      describeError: (body) => {
        const b = body as { error?: unknown; errorType?: unknown } | undefined;
        return { code: typeof b?.errorType === "string" ? b.errorType : undefined, message: typeof b?.error === "string" ? b.error : undefined };
      },
      fetch: options.fetch,
    });
  }

  /** The samples of an instant query now; a scalar answers as one sample without labels. */
  async query(expr: string): Promise<PrometheusSample[]> {
    const res = await this.http.request({
      method: "GET",
      path: "/api/v1/query",
      query: { query: expr },
      operation: "query",
      resource: `"${expr.length > 160 ? `${expr.slice(0, 157)}...` : expr}"`,
      schema: answerSchema(),
    });
    const data = res.data.data;
    if (data.resultType === "scalar") return [{ labels: {}, value: Number(data.result[1]) }];
    return data.result.map((s) => ({ labels: s.metric, value: parseValue(s.value[1]) }));
  }
}

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}
