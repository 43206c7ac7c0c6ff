/**
 * The periodic poll's validator. The ETag names the member and the version of everything the
 * poll returns for that member, so an unchanged state is recognized from the If-None-Match header
 * and one small read, without building the body.
 */
export function syncEtag(memberId: string, version: string): string {
  return `"${memberId}.${version}"`;
}

/** The member and version an If-None-Match header claims, if it is one of ours. */
export function parseSyncEtag(header: string | undefined): { memberId: string; version: string } | undefined {
  if (!header) return undefined;
  const match = /^(?:W\/)?"([0-9a-f-]{36})\.([0-9]{1,20})"$/.exec(header.trim());
  return match ? { memberId: match[1]!, version: match[2]! } : undefined;
}
