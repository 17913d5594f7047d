/**
 * OCI names and media types: `oci://host[:port]/repo[:tag|@sha256:…]` references (the distribution reference grammar,
 * lower-case repository), the manifest and signature media types the scanner and the re-signer both speak, and token
 * scopes (Docker token spec "Token Scope Documentation").
 * @module
 */
import { UsageError } from '../errors.js';
import { redactUrl } from '../net/secrets.js';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociArtifact: 'application/vnd.oci.artifact.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  cosignSig: 'application/vnd.dev.cosign.artifact.sig.v1+json',
  simpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  notarySig: 'application/vnd.cncf.notary.signature',
  jws: 'application/jose+json',
  cose: 'application/cose',
  inToto: 'application/vnd.in-toto+json',
  dsse: 'application/vnd.dsse.envelope.v1+json',
  emptyJson: 'application/vnd.oci.empty.v1+json',
  /** shelflife's hybrid (composite ML-DSA) signatures, attached by `shelflife resign` (docs/resign.md). */
  shelflifeHybridCms: 'application/vnd.shelflife.hybrid-signature.v1+cms',
  shelflifeHybridJson: 'application/vnd.shelflife.hybrid-signature.v1+json',
} as const;

/** Cosign's annotation names (sigstore/cosign `pkg/oci/static`). */
export const COSIGN_ANNOTATION = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
} as const;

export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest, MEDIA.ociArtifact].join(', ');

export const REPO_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
export const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
const HOST_RE = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/;

export interface OciTarget {
  host: string;
  repo?: string;
  tag?: string;
  digest?: string;
}

/**
 * Parse `oci://host[:port][/repo[:tag|@sha256:hex]]`. Userinfo (`oci://user:pass@host/…`) must have been split off
 * first (src/net/secrets.ts `splitUserinfo`): it is refused here so that no message ever repeats it.
 */
export function parseOciTarget(target: string): OciTarget {
  const m = target.match(/^oci:\/\/([^/]+)(?:\/(.*))?$/i);
  if (!m) throw new UsageError('not an oci:// URI', { uri: redactUrl(target) });
  const host = m[1];
  if (host.includes('@'))
    throw new UsageError("credentials in an oci:// URI are taken only by the scanner's source (and never stored)", { uri: redactUrl(target) });
  if (!HOST_RE.test(host)) throw new UsageError(`oci://${host}: not a registry host[:port]`);
  let rest = (m[2] ?? '').replace(/\/+$/, '');
  if (!rest) return { host };
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw new UsageError(`"${digest}" is not a sha256 digest (sha256:<64 hex>)`, { uri: target });
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw new UsageError(`"${tag}" is not a valid tag`, { uri: target });
  }
  if (!REPO_RE.test(rest) || rest.length > 255) throw new UsageError(`"${rest}" is not a valid repository name (lower case, / separated)`, { uri: target });
  return { host, repo: rest, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** `oci://host/repo@sha256:…`: the URI of a manifest or blob. */
export function ociUri(host: string, repo: string, digest: string): string {
  return `oci://${host}/${repo}@${digest}`;
}

export function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}

export function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}
