/**
 * Just enough XML for the S3 answers we read (ListObjectsV2, errors): S3's documents are flat and
 * machine-made, so elements are found by name. No imports: the backup agent ships this file's
 * functions into a stock Node image (components/recovery/agent-script.ts).
 */

/** The text of every `<tag>…</tag>` in `xml`, entities decoded. */
export function xmlValues(xml: string, tag: string): string[] {
  const out: string[] = [];
  const pattern = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, "g");
  for (let m = pattern.exec(xml); m !== null; m = pattern.exec(xml)) out.push(xmlDecode(m[1] ?? ""));
  return out;
}

/** The first `<tag>` text, or undefined. */
export function xmlValue(xml: string, tag: string): string | undefined {
  return xmlValues(xml, tag)[0];
}

/** The five XML entities and numeric references. */
export function xmlDecode(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&amp;/g, "&");
}

/** One object of a ListObjectsV2 page. */
export interface S3Object {
  key: string;
  lastModified: string;
  size: number;
}

/** A ListObjectsV2 page: its objects and the token for the next page, if any. */
export function parseObjectList(xml: string): { objects: S3Object[]; next?: string } {
  const objects = xmlValues(xml, "Contents").map((block) => ({
    key: xmlValue(block, "Key") ?? "",
    lastModified: xmlValue(block, "LastModified") ?? "",
    size: Number(xmlValue(block, "Size") ?? 0),
  }));
  const truncated = xmlValue(xml, "IsTruncated") === "true";
  return { objects, next: truncated ? xmlValue(xml, "NextContinuationToken") : undefined };
}
