/**
 * Credentials in URLs and in what servers send back. A password written into a target URL
 * (`https://user:pass@mirror/…`, `apt+https://…`, `yum+…`, `lvfs+…`, `oci://user:pass@registry/…`) is used for the
 * requests to that origin only (RFC 9110 §4.2.4 deprecates userinfo precisely because it leaks): every URI that is
 * stored, printed or sent to a SIEM is the redacted one. A receiver that echoes a token in an error body gets the
 * token cut out before the body reaches a message.
 * @module
 */

const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*@)/i;

/** The URL with any userinfo removed (`https://user:pass@h/p` → `https://h/p`); other text is returned unchanged. */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, '$1');
}

/** Remove userinfo from every URL inside free text (messages built by other code, server error bodies). */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s"'<>]*@/gi, '$1');
}

export interface UrlCredentials {
  /** The URL without userinfo: what every URI, message and record uses. */
  url: string;
  /** `Basic …` for the URL's origin, when the URL carried userinfo. */
  authorization?: string;
}

/**
 * Split `scheme://user:pass@host/…` into the redacted URL and a Basic authorization (RFC 7617) for that origin. The
 * userinfo is percent-decoded, as browsers and curl do.
 */
export function splitUserinfo(url: string): UrlCredentials {
  const m = url.match(USERINFO);
  if (!m) return { url };
  const info = m[2].slice(0, -1);
  const colon = info.indexOf(':');
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s; // not percent-encoding: taken as written, as curl does
    }
  };
  const user = decode(colon < 0 ? info : info.slice(0, colon));
  const pass = colon < 0 ? '' : decode(info.slice(colon + 1));
  return { url: redactUrl(url), authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
}

/**
 * `text` with every secret (and its base64 and percent-encoded forms, which is how tokens come back in echoed headers
 * and URLs) replaced by `[redacted]`. Secrets shorter than 4 characters are not searched for (they would match noise).
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < 4) continue;
    for (const form of new Set([s, Buffer.from(s).toString('base64'), encodeURIComponent(s)])) out = out.split(form).join('[redacted]');
  }
  return out;
}
