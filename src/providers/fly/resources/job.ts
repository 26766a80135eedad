/**
 * A one-shot machine job: a machine with restart policy "no" runs its command once; this starts it
 * (or finds the one a lost answer or an interrupted run left), waits for it to exit, reads its exit
 * code from Fly's exit event, and destroys it. Safe to repeat: the machine's name and marker are
 * deterministic, so a second attempt finds the first one's machine instead of starting another.
 */
import { isMachineGone, type FlyClient } from "../api/client";
import { lastExitCode, type FlyMachineConfig, type FlyMachineInfo } from "../api/schemas";
import { notOursError } from "../../dynamic/identity";
import { markerOf, withMarker } from "./machine";

export interface MachineJob {
  app: string;
  /** Machine name, unique in the app; the job's identity with the marker. */
  name: string;
  region: string;
  /** The job's machine config; restart policy "no" is set here. */
  config: FlyMachineConfig;
  marker: string;
  /** Upper bound for start, run and exit. */
  timeoutSeconds: number;
}

export interface JobResult {
  exitCode: number;
  machineId: string;
  /** The job machine was left by an earlier attempt and taken over. */
  resumed: boolean;
}

/** Runs the job to its exit; throws on timeout (after destroying the machine) naming the job. */
export async function runMachineJob(client: FlyClient, job: MachineJob): Promise<JobResult> {
  const find = async (): Promise<FlyMachineInfo | undefined> => {
    const found = (await client.listMachines(job.app)).find((m) => m.name === job.name && !isMachineGone(m));
    if (found && markerOf(found) !== job.marker) {
      throw notOursError(`run job machine "${job.name}" in app "${job.app}": machine ${found.id} with this name`, `it carries another marker (${markerOf(found) ?? "none"})`, {
        rename: "change the job's name",
        remove: `fly machine destroy ${found.id} -a ${job.app} --force`,
      });
    }
    return found;
  };
  const config: FlyMachineConfig = withMarker({ ...job.config, restart: { policy: "no" } }, job.marker);
  const left = await find();
  const machine = left ?? (await client.createMachine(job.app, { name: job.name, region: job.region, config }, find));
  const deadline = client.now() + job.timeoutSeconds * 1000;
  let exitCode: number | undefined;
  for (;;) {
    const current = await client.getMachine(job.app, machine.id);
    exitCode = current && current.state === "stopped" ? lastExitCode(current) : undefined;
    if (exitCode !== undefined || isMachineGone(current)) break;
    if (client.now() >= deadline) {
      await client.deleteMachine(job.app, machine.id, true).catch(() => false);
      throw new Error(`job "${job.name}" in app "${job.app}" did not finish within ${job.timeoutSeconds}s (state ${current?.state ?? "unknown"}); its machine ${machine.id} was destroyed. See its logs: fly logs -a ${job.app} --machine ${machine.id}`);
    }
    await client.sleep(client.pollIntervalMs);
  }
  // The exit code is read; the machine has done its work.
  await client.deleteMachine(job.app, machine.id, true).catch(() => false);
  return { exitCode: exitCode ?? -1, machineId: machine.id, resumed: left !== undefined };
}
