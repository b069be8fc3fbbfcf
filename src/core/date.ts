/** RFC 5322 date-time in UTC, e.g. "Fri, 27 Nov 2026 23:35:03 +0000". */
export function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}
