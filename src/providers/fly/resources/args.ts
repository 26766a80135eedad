/**
 * What the Fly resource classes share on the program side. Kept apart from the providers' modules:
 * Pulumi serializes whatever a provider touches, and this file needs the whole Pulumi SDK.
 */
import * as pulumi from "@pulumi/pulumi";

/** What every Fly resource's Args accept for reaching the API. */
export interface FlyConnectionArgs {
  /** Fly API token; secret in state and never part of a diff. @default FLY_API_TOKEN, then FLY_ACCESS_TOKEN */
  apiToken?: pulumi.Input<string>;
  /** Machines API base URL (local emulator, recording proxy). @default FLY_API_URL, then https://api.machines.dev/v1 */
  apiUrl?: pulumi.Input<string>;
}

/** The token (and any further listed output) stays secret in state. */
export function withSecretOutputs(opts: pulumi.CustomResourceOptions | undefined, extra: string[] = []): pulumi.CustomResourceOptions {
  return pulumi.mergeOptions(opts, { additionalSecretOutputs: ["apiToken", ...extra] });
}
