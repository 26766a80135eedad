/** The Sophia platform: config → profile → components → outputs. */
import { loadStackConfig } from "./config";

const config = loadStackConfig();

export const profile = config.profile;
export const primaryRegion = config.primaryRegion;
export const regions = config.regions;
