/** The program Pulumi runs: the platform with the project's services. */
import { sophia } from "./program";
import { SERVICE_DEFINITIONS } from "../components/services";

export = sophia(SERVICE_DEFINITIONS);
