/**
 * Container image references the stack deploys must be pinned: a tag that names a release, or a
 * digest. `:latest` and an untagged reference (which means `:latest`) move under the stack, so a
 * redeploy or a machine restart can run code nobody reviewed, and a rollback has nothing to go to.
 */

/** Why `ref` is not a pinned image reference, or undefined when it is one. */
export function imagePinProblem(ref: string): string | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(ref)) return undefined;
  // The tag follows the last ":" after the last "/": a registry's port ("localhost:5000/x") is not one.
  const lastSegment = ref.slice(ref.lastIndexOf("/") + 1);
  const colon = lastSegment.lastIndexOf(":");
  const tag = colon === -1 ? undefined : lastSegment.slice(colon + 1);
  const repository = colon === -1 ? ref : ref.slice(0, ref.length - lastSegment.length + colon);
  if (tag === undefined || tag === "") return `"${ref}" has no tag, which means :latest; pin a release tag (e.g. ${repository}:1.2.3) or a digest (${repository}@sha256:…)`;
  if (tag === "latest") return `"${ref}" is :latest, which moves under the stack; pin a release tag (e.g. ${repository}:1.2.3) or a digest (${repository}@sha256:…)`;
  return undefined;
}
