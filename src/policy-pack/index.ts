/**
 * The policy pack: `pulumi preview --policy-pack src/policy-pack` (and `pulumi up`). Constructing
 * the PolicyPack starts the analyzer server the CLI talks to, so this file does nothing else.
 */
import { PolicyPack } from "@pulumi/policy";
import { packPolicies, stackFromEnvironment } from "./policies";
import { keepSecretMarks } from "./secret-marks";

keepSecretMarks();

new PolicyPack("sophia-guardrails", {
  description: "Sophia's guardrails: the same policies `npm run plan` runs offline (src/policies).",
  policies: packPolicies(stackFromEnvironment()),
});
