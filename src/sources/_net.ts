/**
 * Network-error helpers shared by the HTTP layers (registries, release stores): what failed, and whether trying again
 * can help.
 * @module
 */

/** The system or undici error code, whether on the error or on its cause (fetch wraps them). */
export function errCode(e: unknown): string | undefined {
  const c = e as { code?: string; cause?: { code?: string } };
  return c?.cause?.code ?? c?.code;
}

/** Connection-level failures a retry with backoff may cure (never TLS or certificate errors). */
export function isTransient(e: unknown): boolean {
  return /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|UND_ERR_SOCKET|UND_ERR_CONNECT_TIMEOUT|UND_ERR_HEADERS_TIMEOUT)$/.test(errCode(e) ?? '');
}

/** One line for a person: the code and the underlying message. */
export function describeNetError(e: unknown): string {
  const c = e as { message?: string; cause?: { code?: string; message?: string } };
  return [c?.cause?.code, c?.cause?.message ?? c?.message].filter(Boolean).join(': ') || String(e);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
