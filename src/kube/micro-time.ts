/**
 * A Kubernetes MicroTime (a Lease's acquireTime and renewTime, an Event's eventTime) as the API server
 * parses it: RFC 3339 with exactly six fractional digits. A JavaScript Date serialises with three,
 * which the server rejects with 400; the client library passes a string through untouched.
 */
export function microTime(ms: number): Date {
  const iso = new Date(ms).toISOString(); // 2026-11-29T06:28:10.793Z
  return `${iso.slice(0, -1)}000Z` as unknown as Date;
}
