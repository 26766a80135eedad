/** The Fly.io provider layer: dynamic resources over the Machines API , with its Machines API client under api/. */
export { FlyApp, flyAppProvider, type FlyAppArgs } from "./resources/app";
export { FlyVolume, flyVolumeProvider, type FlyVolumeArgs, type FlyMountAutoExtend } from "./resources/volume";
export {
  FlyMachine,
  flyMachineProvider,
  type FlyMachineArgs,
  type FlyMachineConfig,
  type FlyMachineService,
  type FlyMachineCheck,
  type FlyMachineMount,
} from "./resources/machine";
export { APP_PLACEHOLDER, INSTANCES_PLACEHOLDER, type ReleaseAnalysis, type ReleaseTrigger } from "./resources/release-analysis";
export type { ReleaseGate } from "./resources/release-gate";
export { FlySecrets, flySecretsProvider, type FlySecretsArgs } from "./resources/secrets";
export { FlyIpAddress, flyIpAddressProvider, type FlyIpAddressArgs, type FlyIpType } from "./resources/ip";
export { FlyCertificate, flyCertificateProvider, type FlyCertificateArgs, type FlyDnsRecord, type FlyDnsRequirements } from "./resources/certificate";
export { FlyClient, type FlyClientOptions } from "./api/client";
export { flyDefaults } from "./api/connection";
export type { FlyConnectionArgs } from "./resources/args";
