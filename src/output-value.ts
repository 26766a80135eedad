import type * as pulumi from "@pulumi/pulumi";

/**
 * Awaits an Output's value. Only for values known when the program runs (config, mocked
 * outputs): an unknown value in a preview would never resolve.
 */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}
