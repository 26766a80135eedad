/**
 * Litestream, as the stack configures it: one config file for the service's image and for the
 * restore job (the image contract in the README), filled in from the environment the stack gives
 * every machine of a service that keeps a SQLite database.
 */

/** The stock Litestream image the restore jobs run, the release the image contract names. */
export const LITESTREAM_IMAGE = "litestream/litestream:0.3.13";
/** Where the config file goes, in the service's machines and in the restore job. */
export const LITESTREAM_CONFIG_PATH = "/etc/litestream.yml";

/**
 * The config: one database, one S3 replica, every value from the environment (Litestream expands
 * `${VAR}` in its config file). Path-style addressing works with every S3-compatible store.
 */
export const LITESTREAM_CONFIG = `# Written by the Sophia stack; every value comes from the machine's environment.
dbs:
  - path: \${SOPHIA_DB_PATH}
    replicas:
      - type: s3
        bucket: \${LITESTREAM_BUCKET}
        path: \${LITESTREAM_PATH}
        endpoint: \${LITESTREAM_ENDPOINT}
        region: \${LITESTREAM_REGION}
        force-path-style: true
        sync-interval: 10s
`;

/** The plain env a Litestream service's machines get; the keys come as secrets (LITESTREAM_ACCESS_KEY_ID, LITESTREAM_SECRET_ACCESS_KEY). */
export function litestreamEnv(bucket: { name: string; endpoint: string; region: string; useSsl: boolean }, database: string): Record<string, string> {
  return {
    SOPHIA_DB_PATH: database,
    LITESTREAM_BUCKET: bucket.name,
    LITESTREAM_ENDPOINT: `${bucket.useSsl ? "https" : "http"}://${bucket.endpoint}`,
    LITESTREAM_REGION: bucket.region,
  };
}

/** Each volume's database replicates under its own path: volume i of any region restores from replica i. */
export function litestreamPath(service: string, index: number): string {
  return `litestream/${service}/${index}`;
}
