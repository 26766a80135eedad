/**
 * Loads a dynamic provider from its serialized form, as Pulumi's dynamic-provider host does
 * (@pulumi/pulumi/cmd/dynamic-provider): `require-from-string` of the `__provider` text, then
 * `handler()`, then `configure` with the stack config, once per distinct text. So the rehearsal runs
 * exactly the code that a deployment would write to state, not the modules in this checkout.
 */
import { createRequire } from "node:module";
import { PROJECT_NAME } from "../planner/engine";

/** The key under which a dynamic resource's inputs carry its serialized provider. */
export const PROVIDER_KEY = "__provider";

type Props = Record<string, unknown>;

/** The dynamic-provider interface, as the host calls it. */
export interface DynamicProvider {
  configure?(req: { config: { get(key: string): string | undefined; require(key: string): string } }): Promise<void>;
  check?(olds: Props, news: Props): Promise<{ inputs?: Props; failures?: { property: string; reason: string }[] }>;
  diff?(id: string, olds: Props, news: Props): Promise<{ changes?: boolean; replaces?: string[]; deleteBeforeReplace?: boolean }>;
  create(inputs: Props): Promise<{ id: string; outs?: Props }>;
  read?(id: string, props: Props): Promise<{ id?: string; props?: Props }>;
  update?(id: string, olds: Props, news: Props): Promise<{ outs?: Props } | undefined>;
  delete?(id: string, props: Props): Promise<void>;
}

// The very module the host uses, resolved through @pulumi/pulumi so that its version matches.
const pulumiRequire = createRequire(require.resolve("@pulumi/pulumi"));
const requireFromString = pulumiRequire("require-from-string") as (code: string) => { handler(): DynamicProvider };
const { Config } = pulumiRequire("./cmd/dynamic-provider/config") as {
  Config: new (raw: Record<string, string>, project: string) => { get(key: string): string | undefined; require(key: string): string };
};

export class ProviderHost {
  private readonly loaded = new Map<string, Promise<DynamicProvider>>();

  /** @param config the stack config as the engine hands it to the provider (secrets decrypted) */
  constructor(private readonly config: Record<string, string>) {}

  /** The provider serialized in `text`, deserialized and configured once. */
  load(text: string): Promise<DynamicProvider> {
    let provider = this.loaded.get(text);
    if (!provider) {
      provider = (async () => {
        const instance = requireFromString(text).handler();
        if (instance.configure) await instance.configure({ config: new Config(this.config, PROJECT_NAME) });
        return instance;
      })();
      this.loaded.set(text, provider);
    }
    return provider;
  }

  /** How many distinct serialized providers ran. */
  get count(): number {
    return this.loaded.size;
  }
}
