/** What every Fly resource's Args accept for reaching the API (program side; see ../../dynamic/resource.ts). */
import type * as pulumi from "@pulumi/pulumi";
import { withSecretOutputs as secretOutputs } from "../../dynamic/resource";

export { resourceMarker } from "../../dynamic/resource";

/** What every Fly resource's Args accept for reaching the API. */
export interface FlyConnectionArgs {
  /** Fly API token; secret in state and never part of a diff. @default FLY_API_TOKEN, then FLY_ACCESS_TOKEN */
  apiToken?: pulumi.Input<string>;
  /** Machines API base URL (local emulator, recording proxy). @default FLY_API_URL, then https://api.machines.dev/v1 */
  apiUrl?: pulumi.Input<string>;
}

/** The token (and any further listed output) stays secret in state. */
export function withSecretOutputs(opts: pulumi.CustomResourceOptions | undefined, extra: string[] = []): pulumi.CustomResourceOptions {
  return secretOutputs(opts, ["apiToken", ...extra]);
}
