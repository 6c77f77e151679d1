import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The header the page sends its token in. */
export const TOKEN_HEADER = 'x-docket-token';

/** A random token for one dashboard: the page gets it, a page of another origin cannot read it. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Why a mutating request is refused, or `undefined` when it may go on. It must come from
 * the dashboard's own origin (the `Origin` header a browser sends with every POST names the
 * request's host, or one of `allowedOrigins`), carry the page's token, and send JSON (which
 * a cross-site form cannot).
 */
export function refusal(headers: IncomingHttpHeaders, token: string, allowedOrigins: readonly string[]): string | undefined {
  const origin = headers.origin;
  if (origin === undefined) return 'missing Origin header';
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return 'malformed Origin header';
  }
  if (host !== headers.host && !allowedOrigins.includes(origin)) return 'cross-origin request';
  const given = headers[TOKEN_HEADER];
  if (typeof given !== 'string' || !sameToken(given, token)) return 'missing or wrong token';
  const type = headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) return 'Content-Type must be application/json';
  return undefined;
}
