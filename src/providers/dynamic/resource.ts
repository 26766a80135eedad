/**
 * Program-side helpers for the resource classes. Kept apart from the providers' modules: Pulumi
 * serializes whatever a provider touches, and this file needs the whole Pulumi SDK.
 */
import * as pulumi from "@pulumi/pulumi";

/** The listed outputs (credentials, generated keys) stay secret in state. */
export function withSecretOutputs(opts: pulumi.CustomResourceOptions | undefined, outputs: string[]): pulumi.CustomResourceOptions {
  return pulumi.mergeOptions(opts, { additionalSecretOutputs: outputs });
}

/**
 * The marker a resource carries on the platform: its stack and its name in the program. A create
 * adopts what carries it, so an interrupted run's leftovers are found instead of duplicated.
 * Kept short enough for a Lambda tag value (128 characters).
 */
export function resourceMarker(name: string): string {
  const marker = `${pulumi.getProject()}/${pulumi.getStack()}/${name}`;
  return marker.length <= 128 ? marker : marker.slice(0, 128);
}
