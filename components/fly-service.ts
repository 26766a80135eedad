/**
 * FlyService: one Fly app with its machines per region, their volumes, its IPs and its secrets.
 * Every service is one definition (services.ts), normalized into a `FlyServiceSpec`.
 */
import { createHash } from "node:crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceConfig } from "../src/config/schema";
import type { ServiceAdoption } from "../src/config/adopt";
import type { FlyRegion } from "../src/platform";
import {
  FlyApp,
  FlyIpAddress,
  FlyMachine,
  FlySecrets,
  FlyVolume,
  type FlyMachineConfig,
  type FlyMachineService,
  type ReleaseAnalysis,
} from "../src/providers/fly";

/** A port the service listens on inside the machine. */
export interface ServicePort {
  /** Port inside the machine. */
  internalPort: number;
  /** "http" is proxied as HTTP (and TLS-terminated when public); "tcp" is passed through, e.g. gRPC. */
  kind: "http" | "tcp";
}

/** Everything a FlyService needs, with every default already applied (see `normalizeFlyService`). */
export interface FlyServiceSpec {
  service: string;
  /** Fly app name; global on Fly. */
  appName: string;
  org: string;
  /** Where the minimums run (PRIMARY_REGION): the active region (sophia:recovery.activeRegion). */
  primaryRegion: FlyRegion;
  /** The stack's home region (sophia:primaryRegion); the same as primaryRegion unless the stack has failed over. */
  homeRegion: FlyRegion;
  /** Regions that get `maxMachines` machines each. */
  regions: FlyRegion[];
  guest: { cpu_kind: "shared" | "performance"; cpus: number; memory_mb: number };
  minMachines: number;
  maxMachines: number;
  autostop: "off" | "stop" | "suspend";
  autostart: boolean;
  strategy: "immediate" | "rolling" | "canary" | "bluegreen";
  concurrency: { type: "connections" | "requests"; softLimit: number; hardLimit: number };
  healthCheck: { path: string; intervalSeconds: number; gracePeriodSeconds: number; timeoutSeconds: number };
  /** The first port is the one health checks and URLs use. */
  ports: ServicePort[];
  /** Public services get shared IPv4 + IPv6 and force HTTPS; private ones a Flycast address only. */
  reach: "public" | "private";
  /** One volume per machine, in the machine's region. */
  /** `protect` guards against destroy; `retain` keeps the volume when Pulumi deletes or replaces it. */
  volume?: { sizeGb: number; mountPath: string; snapshotRetentionDays: number; protect: boolean; retain: boolean };
  /**
   * What already exists and is taken over rather than created (`sophia:adopt`): the app (its name
   * is `appName`), volumes by the service's volume index, machines by its machine index. What the
   * stack adopted it keeps on delete.
   */
  adopt?: { volumes: string[]; machines: string[] };
}

/** A file written into every machine of a service (Fly machine config `files`). */
export interface ServiceFile {
  /** Absolute path inside the machine. */
  path: string;
  /** The file's contents, as text. */
  content: pulumi.Input<string>;
  /** Deliver it through a Fly secret, so that the machine config names the secret and never holds the contents. @default false */
  secret?: boolean;
}

/** Where Fly's Prometheus scrapes a machine's own metrics, every 15 s (Fly machine config `metrics`). */
export interface MetricsEndpoint {
  port: number;
  path: string;
}

/** The Fly secret that holds a secret file's contents (base64, as Fly reads it): FILE_ETC_APP_CONFIG_YML. */
export function fileSecretName(path: string): string {
  return `FILE_${path.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "").toUpperCase()}`;
}

const base64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

/** A pinned image, or a build pushed to registry.fly.io/<app>. */
export type ImageSource = { ref: string } | { build: { context: string; dockerfile?: string } };

export interface FlyServiceArgs {
  spec: FlyServiceSpec;
  image: ImageSource;
  /** Plain environment variables for every machine. @default {} */
  env?: Record<string, pulumi.Input<string>>;
  /** Per-machine environment variables, e.g. cluster node names. @default none */
  machineEnv?: (region: FlyRegion, index: number) => Record<string, pulumi.Input<string>>;
  /** Overrides the image's entrypoint or command. @default the image's own */
  init?: FlyMachineConfig["init"];
  /** Wait for health checks after creating a machine, not only after updating one. @default true */
  checksOnCreate?: boolean;
  /** Secret environment variables, set as Fly app secrets. @default {} */
  secrets?: Record<string, pulumi.Input<string>>;
  /** Files written into every machine: config files, rule files; a secret one travels as a Fly secret. @default none */
  files?: ServiceFile[];
  /** Where Fly scrapes the service's Prometheus metrics. @default none */
  metrics?: MetricsEndpoint;
  /** An operators' tool rather than part of the product (machine metadata `sophia-internal`). @default false */
  internal?: boolean;
  /**
   * Judge canary and rolling releases on metrics (components/release-analysis.ts): the canary, or
   * each rolling step, is watched in Fly's Prometheus and a breach puts the release back.
   * @default none: health checks only
   */
  release?: { analysis: ReleaseAnalysis; metricsToken: pulumi.Input<string> };
  /** Fly API token (a Pulumi secret) and endpoint override. */
  apiToken: pulumi.Input<string>;
  apiUrl?: string;
  /**
   * Regions left alone: a lost region after a failover (sophia:recovery.activeRegion). Their machines
   * stay declared but are never updated or replaced (their config changes are ignored), and release
   * order skips them, since nothing there answers. @default none
   */
  frozenRegions?: FlyRegion[];
  /**
   * Keep declaring the service in a frozen region it no longer runs in (parked, untouched), rather
   * than deleting it there, which would fail while the region is down. @default true for a service with a volume
   */
  parkInFrozenRegions?: boolean;
  /** What each volume waits for: the data region's claim (RecoveryRegion), before any data is created. @default none */
  dataDependsOn?: pulumi.Resource[];
  /**
   * What every machine outside the frozen regions waits for before it is created or updated: the
   * restore of a service it calls, so that it writes nothing there before the restore. @default none
   */
  machineDependsOn?: pulumi.Resource[];
  /**
   * A resource each machine waits for, made once its volume exists: a restore into that volume. It
   * runs in the service's app, so it is handed the app's secrets resource to wait for. @default none
   */
  prepareVolume?: (volume: FlyVolume, region: FlyRegion, index: number, secrets: FlySecrets | undefined) => pulumi.Resource | undefined;
}

export const FLY_SERVICE_TYPE = "sophia:fly:Service";

/** Everything wrong with one service's config, each problem a sentence naming its key. */
export class ServiceConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ServiceConfigError";
  }
}

/** Applies the service's own defaults to its config. Pure, so it can be tested without mocks. */
export function normalizeFlyService(input: {
  service: string;
  config: ServiceConfig;
  appPrefix: string;
  org: string;
  primaryRegion: FlyRegion;
  /** @default primaryRegion */
  homeRegion?: FlyRegion;
  regions: FlyRegion[];
  defaults: { port?: number; extraPorts?: ServicePort[]; healthPath?: string; mountPath?: string; reach: "public" | "private" };
  snapshotRetentionDays: number;
  protectVolumes: boolean;
  /** Keep volumes (and their app) when they leave the program; independent of protectVolumes. */
  retainVolumes: boolean;
  /** An existing app, with its volumes and machines, to take over. @default none */
  adopt?: ServiceAdoption;
}): FlyServiceSpec {
  const { service, config, defaults } = input;
  const where = `sophia:services.${service}`;
  const problems: string[] = [];
  const port = config.port ?? defaults.port;
  if (port === undefined) problems.push(`${where}.port is not set and ${service} has no default port; set the port it listens on`);
  const healthPath = config.healthCheck.path ?? defaults.healthPath;
  if (healthPath === undefined) problems.push(`${where}.healthCheck.path is not set and ${service} has no default; set the path of its health endpoint`);
  if (config.volumeGb !== undefined && defaults.mountPath === undefined) {
    problems.push(`${where}.volumeGb is set but ${service} is stateless and has nowhere to mount it; remove volumeGb`);
  }
  if (port === undefined || healthPath === undefined || problems.length > 0) throw new ServiceConfigError(problems);
  return {
    service,
    appName: input.adopt?.app ?? `${input.appPrefix}-${service}`,
    org: input.org,
    primaryRegion: input.primaryRegion,
    homeRegion: input.homeRegion ?? input.primaryRegion,
    regions: input.regions,
    guest: { cpu_kind: config.cpuKind, cpus: config.cpus, memory_mb: config.memoryMb },
    minMachines: config.minMachines,
    maxMachines: config.maxMachines,
    autostop: config.autostop,
    autostart: config.autostart,
    strategy: config.strategy,
    concurrency: config.concurrency,
    healthCheck: { ...config.healthCheck, path: healthPath },
    ports: [{ internalPort: port, kind: "http" }, ...(defaults.extraPorts ?? [])],
    reach: defaults.reach,
    volume:
      config.volumeGb === undefined || defaults.mountPath === undefined
        ? undefined
        : { sizeGb: config.volumeGb, mountPath: defaults.mountPath, snapshotRetentionDays: input.snapshotRetentionDays, protect: input.protectVolumes, retain: input.retainVolumes },
    ...(input.adopt ? { adopt: { volumes: input.adopt.volumes ?? [], machines: input.adopt.machines ?? [] } } : {}),
  };
}

/** The Flycast address other services use to reach a private service; it wakes stopped machines. */
export function flycastUrl(spec: Pick<FlyServiceSpec, "appName" | "ports">): string {
  return `http://${spec.appName}.flycast:${spec.ports[0].internalPort}`;
}

const seconds = (n: number) => `${n}s`;

/**
 * Short, stable digest of a machine config: the generation suffix of a blue-green machine's name.
 * Keys are sorted, so reordering env vars in a stack file does not replace every machine.
 */
export function configDigest(config: FlyMachineConfig): string {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : value !== null && typeof value === "object"
        ? Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical((value as Record<string, unknown>)[key])]))
        : value;
  return createHash("sha256").update(JSON.stringify(canonical(config))).digest("hex").slice(0, 8);
}

/** The HTTP health check, as Fly wants it on a machine and on a proxy service. */
export function healthCheck(spec: FlyServiceSpec) {
  return {
    type: "http" as const,
    path: spec.healthCheck.path,
    method: "GET",
    interval: seconds(spec.healthCheck.intervalSeconds),
    timeout: seconds(spec.healthCheck.timeoutSeconds),
    grace_period: seconds(spec.healthCheck.gracePeriodSeconds),
  };
}

/**
 * Fly Proxy services for one machine: public ones terminate TLS on 443 and redirect 80. The HTTP
 * service carries the health check too, because Fly Proxy routes only on service checks: that is
 * what keeps traffic off a machine that is being released.
 */
export function proxyServices(spec: FlyServiceSpec): FlyMachineService[] {
  return spec.ports.map((p, i) => {
    const ports =
      spec.reach === "public" && p.kind === "http"
        ? [
            { port: 80, handlers: ["http"], force_https: true },
            { port: 443, handlers: ["tls", "http"] },
          ]
        : // Flycast is plain HTTP inside the private network, so no TLS and no force_https.
          [{ port: p.internalPort, ...(p.kind === "http" ? { handlers: ["http"] } : {}) }];
    return {
      protocol: "tcp" as const,
      internal_port: p.internalPort,
      ports,
      autostop: spec.autostop,
      autostart: spec.autostart,
      min_machines_running: spec.minMachines,
      // Fly Proxy counts requests only on ports it handles as HTTP; a passthrough port (gRPC) sees connections.
      concurrency: { type: p.kind === "tcp" ? "connections" : spec.concurrency.type, soft_limit: spec.concurrency.softLimit, hard_limit: spec.concurrency.hardLimit },
      ...(i === 0 ? { checks: [healthCheck(spec)] } : {}),
    };
  });
}

export class FlyService extends pulumi.ComponentResource {
  readonly appName: pulumi.Output<string>;
  /** Flycast URL that other services call; only private services have one. */
  readonly privateUrl: pulumi.Output<string> | undefined;
  readonly app: FlyApp;
  /** The app's addresses; a certificate for the app waits for these and the app, not for its machines. */
  readonly ips: FlyIpAddress[];
  readonly machines: FlyMachine[] = [];

  constructor(name: string, args: FlyServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(FLY_SERVICE_TYPE, name, {}, opts);
    const { spec } = args;
    const connection = { apiToken: args.apiToken, apiUrl: args.apiUrl };

    // Deleting an app deletes its volumes, so an app holding protected data is protected too. What
    // existed before the stack (adopted) the stack never deletes: it only forgets it.
    const adopted = spec.adopt !== undefined;
    this.app = new FlyApp(
      `${name}-app`,
      { name: spec.appName, org: spec.org, ...(spec.adopt ? { adopt: spec.adopt } : {}), ...connection },
      { parent: this, protect: spec.volume?.protect ?? false, retainOnDelete: (spec.volume?.retain ?? false) || adopted },
    );
    const app = this.app.name;

    const ipTypes = spec.reach === "public" ? (["shared_v4", "v6"] as const) : (["private_v6"] as const);
    const ips = ipTypes.map((type) => new FlyIpAddress(`${name}-ip-${type}`, { app, type, ...connection }, { parent: this }));
    this.ips = ips;

    // Every value is wrapped, so a secret stays one even if its source forgot to mark it. A secret
    // file's contents go in as a secret of their own, base64-encoded as Fly's `secret_name` wants.
    const files = args.files ?? [];
    const secretFiles = files.filter((f) => f.secret);
    const secretValues = Object.fromEntries([
      ...Object.entries(args.secrets ?? {}).map(([key, value]) => [key, pulumi.secret(value)]),
      ...secretFiles.map((f) => [fileSecretName(f.path), pulumi.secret(pulumi.output(f.content).apply(base64))]),
    ]);
    const plainFiles = pulumi.output(files.filter((f) => !f.secret).map((f) => ({ path: f.path, content: f.content })));
    // The machines roll out new secrets themselves (see secretsVersion below), in release order,
    // rather than all at once from the secrets resource.
    const secrets =
      Object.keys(secretValues).length === 0
        ? undefined
        : new FlySecrets(`${name}-secrets`, { app, values: secretValues, updateMachines: false, ...connection }, { parent: this, dependsOn: [this.app] });
    const secretsVersion = secrets ? secrets.version : pulumi.output(undefined);

    const image = this.resolveImage(name, args.image, spec, args.apiToken, args.env ?? {});
    const env = { PRIMARY_REGION: spec.primaryRegion, ...args.env };
    const waitForChecks = spec.strategy !== "immediate";
    const machineNames: string[] = [];
    // Every machine of a gated release knows the whole fleet: it holds its update until all have passed.
    const gated = args.release && (spec.strategy === "canary" || spec.strategy === "rolling") ? args.release : undefined;
    const fleet = spec.regions.flatMap((region) => Array.from({ length: spec.maxMachines }, (_, i) => `${spec.appName}-${region}-${i}`));

    const frozen = new Set(args.frozenRegions ?? []);
    // A stateful service's data left in a frozen region stays declared (parked), so that nothing of
    // it is deleted, or even looked at, while the region is down.
    const parked = (args.parkInFrozenRegions ?? spec.volume !== undefined) ? [...frozen].filter((r) => !spec.regions.includes(r)) : [];
    for (const region of [...spec.regions, ...parked]) {
      for (let i = 0; i < spec.maxMachines; i++) {
        // Adoption lists machines (and volumes) in the order they are made here: region by region, then
        // index (parked regions come last, and adopt nothing).
        const position = this.machines.length;
        const adoptVolume = frozen.has(region) ? undefined : spec.adopt?.volumes[position];
        const volume = spec.volume ? this.createVolume(name, spec, spec.volume, region, i, app, connection, adoptVolume, args.dataDependsOn ?? [], frozen.has(region)) : undefined;
        const prepared = volume && !frozen.has(region) && adoptVolume === undefined ? args.prepareVolume?.(volume, region, i, secrets) : undefined;
        const machineEnv = args.machineEnv?.(region, i) ?? {};
        const config = pulumi
          .all([image, pulumi.output(env), pulumi.output(machineEnv), volume?.volumeId, secretsVersion, plainFiles])
          .apply(([image, sharedEnv, ownEnv, volumeId, version, plain]): FlyMachineConfig => {
            const machineFiles = [
              ...plain.map((f) => ({ guest_path: f.path, raw_value: base64(f.content) })),
              ...secretFiles.map((f) => ({ guest_path: f.path, secret_name: fileSecretName(f.path) })),
            ];
            const fleetWide: FlyMachineConfig = {
              image,
              guest: spec.guest,
              ...(args.init ? { init: args.init } : {}),
              ...(machineFiles.length > 0 ? { files: machineFiles } : {}),
              ...(args.metrics ? { metrics: { port: args.metrics.port, path: args.metrics.path } } : {}),
              env: sharedEnv,
              services: proxyServices(spec),
              checks: { health: { ...healthCheck(spec), port: spec.ports[0].internalPort } },
              restart: { policy: "on-failure", max_retries: 10 },
              // A machine picks up new secrets only when it is updated: a new secrets version changes
              // its config, so Pulumi updates it, with the service's release strategy.
              metadata: {
                "sophia-service": spec.service,
                fly_process_group: "app",
                ...(args.internal ? { [INTERNAL_KEY]: "true" } : {}),
                ...(version === undefined ? {} : { sophia_secrets_version: String(version) }),
              },
              stop_config: { signal: "SIGTERM", timeout: "30s" },
            };
            return {
              ...fleetWide,
              env: { ...sharedEnv, ...ownEnv },
              mounts: volumeId && spec.volume ? [{ volume: volumeId, path: spec.volume.mountPath }] : undefined,
              // The release this machine runs: what the whole fleet shares, so that a machine
              // released after another can see when that one has taken the same change.
              metadata: { ...fleetWide.metadata, [RELEASE_KEY]: configDigest(fleetWide) },
            };
          });

        const baseName = `${spec.appName}-${region}-${i}`;
        // Blue-green: a config change gives the machine a new name, and a changed name is a
        // replacement, which Pulumi creates (and waits healthy) before it deletes the old machine.
        const machineName = spec.strategy === "bluegreen" ? config.apply((c) => `${baseName}-${configDigest(c)}`) : baseName;
        const machine = new FlyMachine(
          `${name}-machine-${region}-${i}`,
          {
            app,
            name: machineName,
            region,
            config,
            waitForChecks,
            checksOnCreate: args.checksOnCreate ?? true,
            releaseAfter: releaseAfter(spec.strategy, machineNames),
            minSecretsVersion: secretsVersion,
            // The canary's step is analysed, or every rolling step.
            ...(gated
              ? { releaseGate: { fleet, analyse: spec.strategy === "rolling" || machineNames.length === 0, analysis: gated.analysis }, metricsToken: gated.metricsToken }
              : {}),
            ...(!frozen.has(region) && spec.adopt?.machines[position] !== undefined ? { adopt: spec.adopt.machines[position] } : {}),
            ...connection,
          },
          {
            parent: this,
            dependsOn: [...(secrets ? [secrets] : []), ...ips, ...(prepared ? [prepared] : []), ...(frozen.has(region) ? [] : (args.machineDependsOn ?? []))],
            // A frozen machine that leaves the program (a lower maxMachines) is forgotten, not deleted: its region does not answer.
            retainOnDelete: frozen.has(region),
            // Nothing in a lost region answers: what the program would change there waits for it to come back.
            ...(frozen.has(region) ? { ignoreChanges: ["config", "name", "releaseAfter", "minSecretsVersion"] } : {}),
          },
        );
        this.machines.push(machine);
        if (!frozen.has(region)) machineNames.push(baseName);
      }
    }

    this.appName = app;
    this.privateUrl = spec.reach === "private" ? pulumi.output(flycastUrl(spec)) : undefined;
    this.registerOutputs({ appName: this.appName, privateUrl: this.privateUrl });
  }

  /**
   * A build is pushed to the app's own Fly registry and referenced by digest, so that a rebuild
   * changes the machine config and rolls out.
   */
  private resolveImage(
    name: string,
    source: ImageSource,
    spec: FlyServiceSpec,
    apiToken: pulumi.Input<string>,
    env: Record<string, pulumi.Input<string>>,
  ): pulumi.Input<string> {
    if ("ref" in source) return source.ref;
    // Next.js inlines NEXT_PUBLIC_* into the browser bundle at build time, so they go in as build args too.
    const buildArgs = Object.fromEntries(Object.entries(env).filter(([key]) => key.startsWith("NEXT_PUBLIC_")));
    const built = new docker.Image(
      `${name}-image`,
      {
        imageName: `registry.fly.io/${spec.appName}:deployment`,
        build: { context: source.build.context, dockerfile: source.build.dockerfile, platform: "linux/amd64", args: buildArgs },
        registry: { server: "registry.fly.io", username: "x", password: apiToken },
      },
      { parent: this, dependsOn: [this.app] },
    );
    return built.repoDigest;
  }

  private createVolume(
    name: string,
    spec: FlyServiceSpec,
    volume: NonNullable<FlyServiceSpec["volume"]>,
    region: FlyRegion,
    index: number,
    app: pulumi.Output<string>,
    connection: { apiToken: pulumi.Input<string>; apiUrl?: string },
    adopt: string | undefined,
    dependsOn: pulumi.Resource[],
    frozen: boolean,
  ): FlyVolume {
    return new FlyVolume(
      `${name}-vol-${region}-${index}`,
      {
        app,
        name: volumeName(spec.service, index),
        region,
        sizeGb: volume.sizeGb,
        encrypted: true,
        snapshotRetention: volume.snapshotRetentionDays,
        autoBackupEnabled: true,
        compute: spec.guest,
        ...(adopt !== undefined ? { adopt } : {}),
        ...connection,
      },
      // In prod the data outlives the program. Retention does not follow `protect`, so an
      // update that un-protects and replaces (e.g. a region change) leaves the old volume in place.
      {
        parent: this,
        // Parked data (a lost region's) is protected like any other, and retained even where the
        // stack does not retain, since nothing there could be deleted anyway. An adopted volume held
        // data before the stack, so the stack never deletes it.
        protect: volume.protect,
        retainOnDelete: volume.retain || frozen || adopt !== undefined,
        dependsOn,
        ...(frozen ? { ignoreChanges: ["sizeGb", "snapshotRetention", "autoBackupEnabled", "compute"] } : {}),
      },
    );
  }
}

/** Machine metadata that marks an operators' tool (FlyServiceArgs `internal`); the guardrails read it. */
export const INTERNAL_KEY = "sophia-internal";

/** Metadata key that names the release a machine runs (see FlyMachine's `releaseAfter`). */
export const RELEASE_KEY = "sophia_release";

/**
 * Release ordering, for updates only: which earlier machines must have taken a change before
 * this one does. It is not a Pulumi dependency, because a dependency would also chain the first
 * create (one stage per machine) when a new fleet has no traffic to protect; the machine provider
 * waits instead (FlyMachine `releaseAfter`). Rolling: the previous machine. Canary: the first.
 * Blue-green needs none: a change is a replacement created before the old machine goes.
 */
export function releaseAfter(strategy: FlyServiceSpec["strategy"], earlier: readonly string[]): string[] {
  const previous = earlier.at(-1);
  const canary = earlier[0];
  switch (strategy) {
    case "rolling":
      return previous ? [previous] : [];
    case "canary":
      return canary ? [canary] : [];
    case "immediate":
    case "bluegreen":
      return [];
  }
}

/**
 * One name per volume within its app and region, so a create can tell its own leftover from a
 * sibling's. Index 0 keeps the plain name it always had: renaming a volume replaces it.
 */
export function volumeName(service: string, index: number): string {
  const base = `${service.replace(/-/g, "_")}_data`;
  return index === 0 ? base : `${base}_${index}`;
}
