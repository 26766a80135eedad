/**
 * What a service definition is (components/services.ts holds the definitions), and what the
 * wiring makes of them: the plan of the services a stack runs, and the view of the stack a
 * definition's `fromStack` gets.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { ServiceConfig, StackConfig } from "../src/config/schema";
import type { RecoveryMethod } from "../src/config/recovery";
import type { FlyRegion } from "../src/platform";
import type { SecretKey } from "../src/config/secrets";
import type { FlyServiceArgs, FlyServiceSpec, ImageSource, MetricsEndpoint, ServiceFile, ServicePort } from "./fly-service";

/**
 * How a stateful service's data is backed up and restored (README, "Backups and recovery").
 * `sophia:recovery.services.<name>.method` may override the method.
 */
export interface RecoveryDeclaration {
  /** "weaviate-backup", "litestream" (SQLite) or "volume-snapshot" (Fly's daily snapshots, same region). */
  method: RecoveryMethod;
  /** For litestream: the SQLite database the service keeps, on its volume. */
  database?: string;
}

/** How a service reaches one it calls. */
export interface ServiceCall {
  /** Env var that carries the callee's URL: Flycast for a private callee, its public URL otherwise. */
  url: string;
  /** Env var that carries the callee's access key; only for a callee that has one (`accessKey`). @default none */
  key?: string;
}

export interface ServiceDefinition {
  /** Service name: part of the Fly app name and the key under `sophia:services`. */
  name: string;
  /** Port the service listens on. @default none: the stack config must give it */
  port?: number;
  /** Extra ports, e.g. Weaviate's gRPC. @default none */
  extraPorts?: ServicePort[];
  /** Health endpoint. @default none: the stack config must give it */
  healthPath?: string;
  /** Where the data volume is mounted; only stateful services have one. @default stateless */
  mountPath?: string;
  /** Default image; services built by the Sophia team have none and take theirs from config. */
  image?: string;
  /** Public services get IPv4 + IPv6 and a public URL (custom hostnames from `sophia:edge.hostnames`); private ones Flycast only. */
  reach: "public" | "private";
  /** ESC-supplied secrets this service may receive, and nothing else; a function when the config decides. */
  secrets: SecretKey[] | ((config: StackConfig) => SecretKey[]);
  /** The services it calls, by name. @default none */
  calls?: Record<string, ServiceCall>;
  /**
   * A key the stack generates that callers must present: this service receives it as `env`,
   * and each caller under the env var its `calls` entry names. @default none
   */
  accessKey?: {
    env: string;
    /** Earlier names of the key's resource, so that renaming it keeps the key. @default none */
    formerNames?: string[];
  };
  /** Served by Vercel instead of Fly when `sophia:edge.uiHost` is "vercel"; at most one service. @default false */
  vercelUi?: boolean;
  /** Launches the GPU pool's on-demand workers, which it receives as this secret env var, and is where workers report. At most one service. @default none */
  gpuLaunchTemplateEnv?: string;
  /** Plain env vars derived from the normalized spec. @default none */
  env?: (spec: FlyServiceSpec) => Record<string, string>;
  /** Per-machine env vars. @default none */
  machineEnv?: (spec: FlyServiceSpec) => FlyServiceArgs["machineEnv"];
  /** Entrypoint and command override. @default the image's own */
  init?: (spec: FlyServiceSpec) => FlyServiceArgs["init"];
  /** Whether a machine's checks must pass when it is created. @default true */
  checksOnCreate?: (spec: FlyServiceSpec) => boolean;
  /** Whether the stack runs it, e.g. only with sophia:monitoring.enabled. @default always */
  enabled?: (config: StackConfig) => boolean;
  /** Where Fly's Prometheus scrapes its own metrics. @default none */
  metrics?: MetricsEndpoint;
  /** What it takes from the rest of the stack: files (a rule file, a routing config) and env. @default nothing */
  fromStack?: (stack: StackView) => { files?: ServiceFile[]; env?: Record<string, pulumi.Input<string>> };
  /**
   * An operators' tool (the monitoring apps), not part of the product: its alerts never page (P0
   * and P1 become P2), and the prod promise of two running machines does not apply. @default false
   */
  internal?: boolean;
  /** What this service cannot run with, beyond the schema's rules, as sentences naming the key. @default none */
  configProblems?: (service: { config: ServiceConfig; regions: readonly FlyRegion[] }) => string[];
  /** How a stateful service's data is backed up and restored; required with mountPath. @default none */
  recovery?: RecoveryDeclaration;
}

export interface PlannedService {
  definition: ServiceDefinition;
  spec: FlyServiceSpec;
  image: ImageSource;
  env: Record<string, string>;
}

/** Every service of the stack, checked and normalized. */
export interface ServicePlan {
  /** The services that run on Fly, in definition order. */
  fly: PlannedService[];
  /** The UI, when Vercel serves it instead of Fly. */
  vercelUi?: ServiceDefinition;
  /** The service that launches GPU workers and receives their reports. */
  gpuLauncher: PlannedService;
}

/** What a definition's `fromStack` sees of the rest of the stack. */
export interface StackView {
  config: StackConfig;
  plan: ServicePlan;
  /** Every ESC secret the stack read, as Pulumi secrets. */
  secrets: Record<SecretKey, pulumi.Output<string>>;
}
