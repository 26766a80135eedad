/**
 * A stand-in for the Pulumi engine's gRPC side, for running the program the way `pulumi up` runs
 * it: a ResourceMonitor that records every registration and answers it as the offline plan's mock
 * engine does (the inputs plus the plan's mock outputs), and an Engine that keeps the root
 * resource and collects log lines. Built from the gRPC and protobuf modules @pulumi/pulumi ships,
 * so the wire format is the one the SDK speaks.
 */
import { createRequire } from "node:module";
import { mockOutputs } from "../../src/planner/mock-outputs";

/* eslint-disable @typescript-eslint/no-explicit-any -- generated protobuf classes have no types here */
const pulumiRequire = createRequire(require.resolve("@pulumi/pulumi"));
const grpc = pulumiRequire("@grpc/grpc-js");
const resourceGrpc = pulumiRequire("./proto/resource_grpc_pb");
const resourcePb = pulumiRequire("./proto/resource_pb");
const providerPb = pulumiRequire("./proto/provider_pb");
const engineGrpc = pulumiRequire("./proto/engine_grpc_pb");
const enginePb = pulumiRequire("./proto/engine_pb");
const { Empty } = pulumiRequire("google-protobuf/google/protobuf/empty_pb");
const { Struct } = pulumiRequire("google-protobuf/google/protobuf/struct_pb");

export interface Registration {
  urn: string;
  type: string;
  name: string;
  parent?: string;
  custom: boolean;
  /** Length of a dynamic resource's serialized provider (`__provider`), as a deployment stores it. */
  providerText?: number;
}

export interface LogLine {
  severity: number;
  message: string;
  urn: string;
}

/** What the monitor tells the SDK it supports: secrets, nothing that changes the wire form further. */
const FEATURES = ["secrets"];

type Call = { request: any };
type Callback = (err: unknown, response?: unknown) => void;

export class RecordingMonitor {
  readonly registrations: Registration[] = [];
  readonly logs: LogLine[] = [];
  private root = "";
  private server: any;

  constructor(
    private readonly project: string,
    private readonly stack: string,
  ) {}

  /** Starts both services on one loopback port; resolves to `127.0.0.1:<port>`. */
  async listen(): Promise<string> {
    const server = new grpc.Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024 });
    const unimplemented = (_call: Call, callback: Callback) => callback({ code: grpc.status.UNIMPLEMENTED, details: "not part of this recording monitor" });
    const handlers: Record<string, (call: Call, callback: Callback) => void> = {};
    for (const method of Object.keys(resourceGrpc.ResourceMonitorService)) handlers[method] = unimplemented;
    Object.assign(handlers, {
      supportsFeature: (call: Call, callback: Callback) => {
        const response = new resourcePb.SupportsFeatureResponse();
        response.setHassupport(FEATURES.includes(call.request.getId()));
        callback(null, response);
      },
      registerResource: (call: Call, callback: Callback) => {
        try {
          callback(null, this.register(call.request));
        } catch (err) {
          callback({ code: grpc.status.INTERNAL, details: String(err) });
        }
      },
      registerResourceOutputs: (_call: Call, callback: Callback) => callback(null, new Empty()),
      invoke: (_call: Call, callback: Callback) => {
        const response = new providerPb.InvokeResponse();
        response.setReturn(Struct.fromJavaScript({}));
        callback(null, response);
      },
      signalAndWaitForShutdown: (_call: Call, callback: Callback) => callback(null, new Empty()),
    });
    server.addService(resourceGrpc.ResourceMonitorService, handlers);
    server.addService(engineGrpc.EngineService, {
      log: (call: Call, callback: Callback) => {
        this.logs.push({ severity: call.request.getSeverity(), message: call.request.getMessage(), urn: call.request.getUrn() });
        callback(null, new Empty());
      },
      getRootResource: (_call: Call, callback: Callback) => {
        const response = new enginePb.GetRootResourceResponse();
        response.setUrn(this.root);
        callback(null, response);
      },
      setRootResource: (call: Call, callback: Callback) => {
        this.root = call.request.getUrn();
        callback(null, new enginePb.SetRootResourceResponse());
      },
      requirePulumiVersion: (_call: Call, callback: Callback) => callback(null, new Empty()),
      startDebugging: (_call: Call, callback: Callback) => callback(null, new Empty()),
    });
    this.server = server;
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err: Error | null, bound: number) => (err ? reject(err) : resolve(bound))),
    );
    return `127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.tryShutdown(() => resolve()) : resolve()));
  }

  /**
   * A resource's URN as the mock engine (and so the offline plan) writes it: stack, project, the
   * parent's own type before the resource's, the name. The two runs' URNs then compare directly.
   */
  private urnOf(parent: string, type: string, name: string): string {
    const qualified = parent ? `${(parent.split("::")[2] ?? "").split("$").pop()}$${type}` : type;
    return `urn:pulumi:${this.stack}::${this.project}::${qualified}::${name}`;
  }

  private register(req: any): unknown {
    const type: string = req.getType();
    const name: string = req.getName();
    const parent: string = req.getParent();
    const custom: boolean = req.getCustom();
    const urn = this.urnOf(parent, type, name);
    const inputs = (req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
    const provider = inputs.__provider;
    this.registrations.push({ urn, type, name, parent: parent || undefined, custom, providerText: typeof provider === "string" ? provider.length : undefined });
    const response = new resourcePb.RegisterResourceResponse();
    response.setUrn(urn);
    response.setId(custom ? `${name}-id` : "");
    response.setObject(Struct.fromJavaScript({ ...inputs, ...mockOutputs(type, name, inputs) }));
    return response;
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */
