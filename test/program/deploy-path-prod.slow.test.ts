/** prod, run as `pulumi up` runs it (see deploy-path.ts). */
import { describeDeployPath } from "./deploy-path";

describeDeployPath("prod");
