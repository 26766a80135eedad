/** Lambda Cloud: typed API client, capacity checks and the Pulumi dynamic resources. */
export * from "./api/schemas";
export * from "./api/client";
export * from "./api/capacity";
export { type LambdaAccessArgs } from "./resources/common";
export * from "./resources/ssh-key";
export * from "./resources/filesystem";
export * from "./resources/firewall";
export * from "./resources/instance";
