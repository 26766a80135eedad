/**
 * The restore jobs' machines: stock images, a script each (machine `files`), the service's own app
 * (so they have its secrets and can mount its volumes). The exit codes are RESTORE_EXIT's: 0
 * restored (or restored already by an earlier attempt), 3 data already there, 4 the restore
 * failed, 5 the service could not be reached.
 */
import type { FlyMachineConfig } from "../../src/providers/fly";
import { RESTORE_EXIT } from "../../src/providers/recovery";
import { LITESTREAM_CONFIG, LITESTREAM_CONFIG_PATH, LITESTREAM_IMAGE } from "./litestream";

const file = (guestPath: string, text: string, mode = 0o644) => ({ guest_path: guestPath, raw_value: Buffer.from(text).toString("base64"), mode });
const JOB_GUEST = { cpu_kind: "shared" as const, cpus: 1, memory_mb: 256 };

/** curl in a stock image: the only tool Weaviate's restore needs. */
export const CURL_IMAGE = "curlimages/curl:8.11.1";

/**
 * Weaviate: POST /v1/backups/s3/{id}/restore with node_mapping, then poll until SUCCESS or FAILED.
 * Already restored (a retry after a lost answer) exits 0; collections already there exit 3, since
 * Weaviate restores only into collections that do not exist.
 */
export const WEAVIATE_RESTORE_SCRIPT = `#!/bin/sh
set -u
auth="Authorization: Bearer \${AUTHENTICATION_APIKEY_ALLOWED_KEYS%%,*}"
base="$WEAVIATE_URL/v1/backups/s3/$SOPHIA_RESTORE_BACKUP_ID"
status() { curl -fsS -H "$auth" "$base/restore" 2>/dev/null | sed -n 's/.*"status":"\\([A-Z_]*\\)".*/\\1/p'; }
if [ "$(status)" = SUCCESS ]; then echo "backup $SOPHIA_RESTORE_BACKUP_ID is already restored"; exit ${RESTORE_EXIT.ok}; fi
schema=$(curl -fsS --retry 30 --retry-all-errors --retry-delay 2 -H "$auth" "$WEAVIATE_URL/v1/schema") || { echo "Weaviate at $WEAVIATE_URL does not answer"; exit ${RESTORE_EXIT.unreachable}; }
case "$schema" in *'"class"'*) echo "Weaviate already holds collections; a restore only goes into an empty cluster"; exit ${RESTORE_EXIT.hasData};; esac
echo "restoring $SOPHIA_RESTORE_BACKUP_ID with node_mapping $SOPHIA_NODE_MAPPING"
curl -fsS -X POST -H "$auth" -H 'content-type: application/json' -d "{\\"node_mapping\\": $SOPHIA_NODE_MAPPING}" "$base/restore" || exit ${RESTORE_EXIT.restoreFailed}
while :; do
  case "$(status)" in
    SUCCESS) echo "restored"; exit ${RESTORE_EXIT.ok};;
    FAILED) curl -fsS -H "$auth" "$base/restore"; exit ${RESTORE_EXIT.restoreFailed};;
  esac
  sleep 5
done
`;

/**
 * Litestream: restores the volume's database from its replica, at a time when asked. A marker
 * beside the database says an earlier attempt restored it; a database without one is data this
 * restore must not overwrite (exit 3).
 */
export const LITESTREAM_RESTORE_SCRIPT = `#!/bin/sh
set -u
db="$SOPHIA_DB_PATH"
if [ -e "$db.sophia-restored" ]; then echo "$db is already restored"; exit ${RESTORE_EXIT.ok}; fi
if [ -e "$db" ]; then echo "$db already exists on this volume; a restore does not overwrite data"; exit ${RESTORE_EXIT.hasData}; fi
mkdir -p "$(dirname "$db")"
# The generation the stack chose and records: without -generation Litestream picks its own newest.
if [ -n "\${SOPHIA_RESTORE_TIMESTAMP:-}" ]; then
  litestream restore -config ${LITESTREAM_CONFIG_PATH} -generation "$SOPHIA_RESTORE_BACKUP_ID" -timestamp "$SOPHIA_RESTORE_TIMESTAMP" "$db" || exit ${RESTORE_EXIT.restoreFailed}
else
  litestream restore -config ${LITESTREAM_CONFIG_PATH} -generation "$SOPHIA_RESTORE_BACKUP_ID" "$db" || exit ${RESTORE_EXIT.restoreFailed}
fi
touch "$db.sophia-restored"
echo "restored $db from generation $SOPHIA_RESTORE_BACKUP_ID"
`;

/** Metadata that tells a job's kind (for people reading `fly machines list`, and for the rehearsal's job runner). */
export const JOB_KIND_KEY = "sophia_job";

export function weaviateRestoreJob(weaviateUrl: string): FlyMachineConfig {
  return {
    image: CURL_IMAGE,
    guest: JOB_GUEST,
    env: { WEAVIATE_URL: weaviateUrl },
    files: [file("/opt/sophia/restore.sh", WEAVIATE_RESTORE_SCRIPT, 0o755)],
    init: { entrypoint: ["/bin/sh", "/opt/sophia/restore.sh"] },
    metadata: { [JOB_KIND_KEY]: "restore-weaviate" },
  };
}

export function litestreamRestoreJob(volumeId: string, mountPath: string, env: Record<string, string>): FlyMachineConfig {
  return {
    image: LITESTREAM_IMAGE,
    guest: JOB_GUEST,
    env,
    mounts: [{ volume: volumeId, path: mountPath }],
    files: [file(LITESTREAM_CONFIG_PATH, LITESTREAM_CONFIG), file("/opt/sophia/restore.sh", LITESTREAM_RESTORE_SCRIPT, 0o755)],
    init: { entrypoint: ["/bin/sh", "/opt/sophia/restore.sh"] },
    metadata: { [JOB_KIND_KEY]: "restore-litestream" },
  };
}
