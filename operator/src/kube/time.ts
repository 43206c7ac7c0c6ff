/** MicroTime: RFC 3339 with exactly six fractional digits, as the API server requires (Lease times, Event times). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
