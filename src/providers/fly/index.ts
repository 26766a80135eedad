/** The Fly.io provider layer: dynamic resources over the Machines API (D2). */
export { FlyApp, flyAppProvider, type FlyAppArgs } from "./app";
export { FlyVolume, flyVolumeProvider, type FlyVolumeArgs, type FlyMountAutoExtend } from "./volume";
export {
  FlyMachine,
  flyMachineProvider,
  type FlyMachineArgs,
  type FlyMachineConfig,
  type FlyMachineService,
  type FlyMachineCheck,
  type FlyMachineMount,
} from "./machine";
export { FlySecrets, flySecretsProvider, type FlySecretsArgs } from "./secrets";
export { FlyIpAddress, flyIpAddressProvider, type FlyIpAddressArgs, type FlyIpType } from "./ip";
export { FlyCertificate, flyCertificateProvider, type FlyCertificateArgs, type FlyDnsRecord, type FlyDnsRequirements } from "./certificate";
export { FlyClient, type FlyClientOptions } from "./client";
export { flyDefaults } from "./connection";
export type { FlyConnectionArgs } from "./args";
