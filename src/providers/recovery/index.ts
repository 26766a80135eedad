/** Recovery resources over Fly and S3: where a stateful service's data lives, and restores run as machine jobs. */
export { RecoveryRegion, recoveryRegionProvider, assertRegionEmpty, type RecoveryRegionArgs } from "./data-region";
export { RecoveryRestore, recoveryRestoreProvider, RESTORE_EXIT, RESTORE_NOTHING, type RecoveryRestoreArgs } from "./restore";
export { chooseBackup, nodeMapping, type ChosenBackup, type RestoreMethod } from "./backups";
