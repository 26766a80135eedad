/** The stack's monthly cost estimate, from the project's own cost model, stays within `sophia:budget`. */
import { estimateCost, usd } from "../estimate/cost";
import type { MachineInputs } from "../estimate/resources";
import { isProduction, isUnknown, ofType, TYPES } from "./inspect";
import type { SophiaPolicy } from "./types";

/** How many of the most expensive services the message names. */
const NAMED_SERVICES = 3;

export const withinBudget: SophiaPolicy = {
  name: "monthly-budget",
  description: "The stack's monthly cost estimate stays within sophia:budget (mandatory in production, advisory elsewhere).",
  enforcement: (config) => (isProduction(config) ? "mandatory" : "advisory"),
  check({ resources, config, stack }) {
    // A preview of machines not created yet does not know their sizes; the estimate would be low.
    const sizesKnown = ofType(resources, TYPES.machine).every((m) => !isUnknown((m.inputs as MachineInputs).config))
      && ofType(resources, TYPES.volume).every((v) => !isUnknown(v.inputs.sizeGb));
    if (!sizesKnown) return [];
    const estimate = estimateCost(resources, config);
    if (estimate.total <= config.budget) return [];
    const largest = Object.entries(estimate.byService)
      .sort(([, a], [, b]) => b - a)
      .slice(0, NAMED_SERVICES)
      .map(([service, monthly]) => `${service} ${usd(monthly)}`)
      .join(", ");
    return [
      {
        message:
          `The monthly cost estimate ${usd(estimate.total)} is over the budget sophia:budget ${usd(config.budget)} by ` +
          `${usd(estimate.total - config.budget)} (largest: ${largest}). Fix: bring the cost down (fewer standing GPUs, ` +
          `smaller or fewer machines), or, if the spend is intended, raise sophia:budget in Pulumi.${stack}.yaml.`,
      },
    ];
  },
};
