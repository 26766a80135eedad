/** Lambda Cloud: typed API client, capacity checks and the Pulumi dynamic resources. */
export * from "./schemas";
export * from "./client";
export * from "./capacity";
export { type LambdaAccessArgs } from "./common";
export * from "./ssh-key";
export * from "./filesystem";
export * from "./firewall";
export * from "./instance";
