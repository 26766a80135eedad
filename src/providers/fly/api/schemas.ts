/**
 * Our own zod schemas of the Fly Machines API endpoints we use (field names as in the official
 * OpenAPI document, snake_case). Response schemas are loose: Fly adds fields over time and we
 * must not fail on them, but the fields we read are checked.
 *
 * Schemas are built by functions rather than module constants on purpose: Pulumi serializes the
 * dynamic providers' closures, and zod schema instances hold bound native functions that cannot be
 * serialized. A function referencing the `zod` module serializes to `require("zod")`.
 */
import { z } from "zod";

/** Autostop as we send it. Fly answers with booleans for "off"/"stop" (see normalizeAutostop). */
export const AUTOSTOP_MODES = ["off", "stop", "suspend"] as const;
export const IP_TYPES = ["shared_v4", "v4", "v6", "private_v6"] as const;
export const RESTART_POLICIES = ["no", "always", "on-failure", "spot-price"] as const;
export const STOP_SIGNALS = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGUSR2", "SIGTERM"] as const;
export const CPU_KINDS = ["shared", "performance"] as const;

/** The machine config we manage: a strict subset of fly.MachineConfig, so typos fail at check. */
export function machineConfigSchema() {
  const port = z.int().min(1).max(65535);
  const stringMap = z.record(z.string(), z.string());
  const check = z.strictObject({
    type: z.enum(["http", "tcp"]),
    port: port.optional(),
    path: z.string().optional(),
    method: z.string().optional(),
    protocol: z.enum(["http", "https"]).optional(),
    interval: z.string().optional(),
    timeout: z.string().optional(),
    grace_period: z.string().optional(),
    tls_skip_verify: z.boolean().optional(),
    kind: z.enum(["informational", "readiness"]).optional(),
    headers: z.array(z.strictObject({ name: z.string(), values: z.array(z.string()) })).optional(),
  });
  const service = z.strictObject({
    protocol: z.enum(["tcp", "udp"]),
    internal_port: port,
    ports: z
      .array(
        z.strictObject({
          port: port.optional(),
          start_port: port.optional(),
          end_port: port.optional(),
          handlers: z.array(z.string()).optional(),
          force_https: z.boolean().optional(),
        }),
      )
      .optional(),
    autostop: z.enum(AUTOSTOP_MODES).optional(),
    autostart: z.boolean().optional(),
    min_machines_running: z.int().min(0).optional(),
    concurrency: z
      .strictObject({
        type: z.enum(["connections", "requests"]),
        soft_limit: z.int().min(1).optional(),
        hard_limit: z.int().min(1).optional(),
      })
      .refine((c) => c.soft_limit === undefined || c.hard_limit === undefined || c.soft_limit <= c.hard_limit, {
        message: "soft_limit must not exceed hard_limit",
      })
      .optional(),
    checks: z.array(check.omit({ kind: true })).optional(),
  });
  return z.strictObject({
    image: z.string().min(1, "image is required (e.g. registry.fly.io/my-app:tag)"),
    guest: z
      .strictObject({
        cpu_kind: z.enum(CPU_KINDS).optional(),
        cpus: z.int().min(1).max(16).optional(),
        memory_mb: z
          .int()
          .min(256)
          .refine((mb) => mb % 256 === 0, { message: "memory_mb must be a multiple of 256" })
          .optional(),
      })
      .optional(),
    env: stringMap.optional(),
    services: z.array(service).optional(),
    checks: z.record(z.string(), check).optional(),
    mounts: z
      .array(
        z.strictObject({
          volume: z.string().min(1),
          path: z.string().startsWith("/", "mount path must be absolute"),
          // Auto-extend lives on the mount in the Machines API (see FlyVolume.mountAutoExtend).
          extend_threshold_percent: z.int().min(1).max(99).optional(),
          add_size_gb: z.int().min(1).optional(),
          size_gb_limit: z.int().min(1).optional(),
        }),
      )
      .max(1, "a Fly machine mounts at most one volume")
      .optional(),
    restart: z
      .strictObject({ policy: z.enum(RESTART_POLICIES), max_retries: z.int().min(0).optional() })
      .optional(),
    metadata: stringMap.optional(),
    stop_config: z.strictObject({ signal: z.enum(STOP_SIGNALS).optional(), timeout: z.string().optional() }).optional(),
    init: z
      .strictObject({
        exec: z.array(z.string()).optional(),
        entrypoint: z.array(z.string()).optional(),
        cmd: z.array(z.string()).optional(),
        tty: z.boolean().optional(),
        swap_size_mb: z.int().min(0).optional(),
      })
      .optional(),
    // fly.File: the contents come base64-encoded, either in the config (raw_value) or from an app
    // secret that holds them base64-encoded (secret_name), so a secret file never enters the config.
    files: z
      .array(
        z
          .strictObject({
            guest_path: z.string().startsWith("/", "guest_path must be absolute"),
            raw_value: z.string().optional(),
            secret_name: z.string().optional(),
            mode: z.int().min(0).max(0o7777).optional(),
          })
          .refine((f) => (f.raw_value === undefined) !== (f.secret_name === undefined), { message: "a file needs exactly one of raw_value and secret_name" }),
      )
      .optional(),
    // fly.MachineMetrics: where Fly's Prometheus scrapes the machine's own metrics.
    metrics: z.strictObject({ port, path: z.string().startsWith("/", "metrics path must start with /"), https: z.boolean().optional() }).optional(),
    auto_destroy: z.boolean().optional(),
  });
}

/** The machine config a FlyMachine sends: field names and shapes as in fly.MachineConfig. */
export type FlyMachineConfig = z.infer<ReturnType<typeof machineConfigSchema>>;
export type FlyMachineService = NonNullable<FlyMachineConfig["services"]>[number];
export type FlyMachineCheck = NonNullable<FlyMachineConfig["checks"]>[string];
export type FlyMachineMount = NonNullable<FlyMachineConfig["mounts"]>[number];
export type FlyIpType = (typeof IP_TYPES)[number];

/** Response schemas. Built per client (cheap) so nothing unserializable is captured. */
export function responseSchemas() {
  const optionalString = z.string().nullish();
  const app = z.looseObject({
    id: optionalString,
    name: z.string(),
    status: optionalString,
    network: optionalString,
    organization: z.looseObject({ slug: optionalString, name: optionalString }).nullish(),
  });
  const volume = z.looseObject({
    id: z.string(),
    name: z.string(),
    region: z.string(),
    size_gb: z.number(),
    state: optionalString,
    encrypted: z.boolean().nullish(),
    snapshot_retention: z.number().nullish(),
    auto_backup_enabled: z.boolean().nullish(),
    attached_machine_id: optionalString,
    zone: optionalString,
    created_at: optionalString,
  });
  const checkStatus = z.looseObject({ name: optionalString, status: optionalString, output: optionalString });
  const machine = z.looseObject({
    id: z.string(),
    name: optionalString,
    region: optionalString,
    state: z.string(),
    instance_id: optionalString,
    private_ip: optionalString,
    // Kept loose and whole: secrets roll-outs send it back unchanged.
    config: z.record(z.string(), z.unknown()).nullish(),
    checks: z.array(checkStatus).nullish(),
    host_status: optionalString,
    // The OpenAPI document leaves `request` untyped; fly-go's MachineRequest reads the exit code
    // from `exit_event` (or `MonitorEvent.exit_event`), which is what we read too.
    events: z.array(z.looseObject({ type: optionalString, status: optionalString, timestamp: z.number().nullish(), request: z.unknown().nullish() })).nullish(),
  });
  const leaseData = z.looseObject({
    nonce: z.string(),
    description: optionalString,
    expires_at: z.number().nullish(),
    owner: optionalString,
    version: optionalString,
  });
  // The OpenAPI document shows the lease bare; Fly's own client (fly-go MachineLease) reads it
  // wrapped as {status, data}. Accept both and hand on the lease itself.
  const lease = z.union([leaseData, z.looseObject({ data: leaseData }).transform((wrapped) => wrapped.data)]);
  const secret = z.looseObject({ name: z.string(), digest: optionalString });
  const ip = z.looseObject({
    ip: z.string(),
    region: optionalString,
    shared: z.boolean().nullish(),
    service_name: optionalString,
    created_at: optionalString,
  });
  const certificate = z.looseObject({
    hostname: z.string(),
    configured: z.boolean().nullish(),
    status: optionalString,
    acme_requested: z.boolean().nullish(),
    dns_requirements: z
      .looseObject({
        a: z.array(z.string()).nullish(),
        aaaa: z.array(z.string()).nullish(),
        cname: optionalString,
        acme_challenge: z.looseObject({ name: optionalString, target: optionalString }).nullish(),
        ownership: z.looseObject({ name: optionalString, app_value: optionalString, org_value: optionalString }).nullish(),
      })
      .nullish(),
  });
  return {
    app,
    volume,
    volumeList: z.array(volume),
    extendVolume: z.looseObject({ needs_restart: z.boolean().nullish(), volume: volume.nullish() }),
    machine,
    machineList: z.array(machine),
    lease,
    wait: z.looseObject({ ok: z.boolean().nullish(), state: optionalString }),
    secretList: z.looseObject({ secrets: z.array(secret).nullish() }),
    secretsUpdate: z.looseObject({
      version: z.number().nullish(),
      Version: z.number().nullish(),
      secrets: z.array(secret).nullish(),
    }),
    ip,
    ipList: z.looseObject({ ips: z.array(ip).nullish() }),
    certificate,
  };
}

type Schemas = ReturnType<typeof responseSchemas>;
export type FlyAppInfo = z.infer<Schemas["app"]>;
export type FlyVolumeInfo = z.infer<Schemas["volume"]>;
export type FlyMachineInfo = z.infer<Schemas["machine"]>;
export type FlyLease = z.infer<Schemas["lease"]>;
export type FlySecretInfo = NonNullable<z.infer<Schemas["secretList"]>["secrets"]>[number];
export type FlyIpInfo = z.infer<Schemas["ip"]>;
export type FlyCertificateInfo = z.infer<Schemas["certificate"]>;

/** Fly answers autostop with booleans for the two old modes; compare in the string form. */
export function normalizeAutostop(value: unknown): unknown {
  if (value === true) return "stop";
  if (value === false) return "off";
  return value;
}

/** The exit code of a machine's last exit event, as fly-go's MachineRequest.GetExitCode reads it; undefined before any exit. */
export function lastExitCode(machine: FlyMachineInfo): number | undefined {
  const exits = (machine.events ?? []).filter((e) => e.type === "exit").sort((a, b) => (b.timestamp ?? 0) - (a.timestamp ?? 0));
  const request = exits[0]?.request as { exit_event?: { exit_code?: unknown }; MonitorEvent?: { exit_event?: { exit_code?: unknown } } } | undefined;
  const code = request?.MonitorEvent?.exit_event?.exit_code ?? request?.exit_event?.exit_code;
  return typeof code === "number" ? code : exits.length > 0 ? -1 : undefined;
}

/** Pulls Fly's error text out of an error body (`{"error": "..."}`, sometimes plain text). */
export function describeFlyError(body: unknown): { code?: string; message?: string } {
  if (typeof body === "string") return { message: body.slice(0, 500) };
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>;
    const message = typeof record.error === "string" ? record.error : typeof record.message === "string" ? record.message : undefined;
    const code = typeof record.status === "string" ? record.status : undefined;
    return { code, message };
  }
  return {};
}
