/**
 * relativeName: DNS record names as Vercel DNS wants them, relative to the delegated domain.
 * The Edge component writes the Fly certificate's CNAME and ACME-challenge records with it.
 */
import { describe, expect, it } from "vitest";
import { relativeName } from "../../components/edge";

const DOMAIN = "sophia-intel.ai";

describe("relativeName", () => {
  it("is empty for the apex", () => {
    expect(relativeName(DOMAIN, DOMAIN)).toBe("");
  });

  it("is the label for a subdomain", () => {
    expect(relativeName("api.sophia-intel.ai", DOMAIN)).toBe("api");
  });

  it("keeps every label of a deeper subdomain", () => {
    expect(relativeName("eu.api.sophia-intel.ai", DOMAIN)).toBe("eu.api");
  });

  it("is _acme-challenge.<label> for the ACME challenge of a subdomain", () => {
    expect(relativeName("_acme-challenge.api.sophia-intel.ai", DOMAIN)).toBe("_acme-challenge.api");
  });

  it("is _acme-challenge for the ACME challenge of the apex", () => {
    expect(relativeName("_acme-challenge.sophia-intel.ai", DOMAIN)).toBe("_acme-challenge");
  });
});
