/**
 * TUF metadata (The Update Framework specification 1.0, §4.3–§4.6): `{signed: {_type: root|targets|snapshot|timestamp,
 * spec_version, version, expires, …}, signatures: [{keyid, sig}]}`. Every key (root `keys`, targets `delegations.keys`)
 * is a public-key finding named by its key id, with the roles it serves and their thresholds; every signature is a
 * signature finding with the metadata's expiry, sized by the signing key when the document holds it (root signs
 * itself) and otherwise joined to it by key id within the scan (src/scan/signers.ts).
 * @module
 */
import { MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { arr, isObject, locator, readJsonDocuments, str, type JsonObject } from './_json.js';
import { readSslibKeys, sslibKeyFinding, sslibKeyOffset, sslibSignatureFinding } from './_securesystemslib.js';
import type { Detector, DetectResult } from './types.js';

const ROLE_TYPES = new Set(['root', 'targets', 'snapshot', 'timestamp']);

export const tufDetector: Detector = {
  format: 'tuf',
  description: 'TUF metadata (root, targets and delegations, snapshot, timestamp): every key and signature, linked by key id',
  claims: {
    names: ['root.json', '*.root.json', 'targets.json', '*.targets.json', 'snapshot.json', '*.snapshot.json', 'timestamp.json', '*.timestamp.json'],
    contains: ['"keyid"'],
  },
  detect: detectTuf,
};

/** The role of a TUF metadata document, or undefined when it is not one (`Root` was the spelling before 1.0). */
export function tufRole(doc: JsonObject): string | undefined {
  if (!isObject(doc.signed) || !Array.isArray(doc.signatures)) return undefined;
  const t = str(doc.signed._type)?.toLowerCase();
  return t && ROLE_TYPES.has(t) ? t : undefined;
}

function detectTuf(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const annotations: Record<string, string> = {};
  const locate = locator(bytes);
  for (const doc of readJsonDocuments(bytes, ctx)) {
    const role = tufRole(doc.value);
    if (!role) continue;
    const signed = doc.value.signed as JsonObject;
    const expires = str(signed.expires);
    annotations['tuf.role'] = role;
    if (typeof signed.version === 'number') annotations['tuf.version'] = String(signed.version);
    if (str(signed.spec_version)) annotations['tuf.specVersion'] = str(signed.spec_version)!;
    if (expires) annotations['tuf.expires'] = expires;
    // Root: the top-level roles' keys (§4.3). Targets: delegated roles' keys (§4.5 "delegations").
    const delegations = isObject(signed.delegations) ? signed.delegations : undefined;
    const keyMap = role === 'root' ? signed.keys : delegations?.keys;
    const keyPath = role === 'root' ? 'signed.keys' : 'signed.delegations.keys';
    const keys = readSslibKeys(keyMap, keyPath, errors, doc.offset);
    const roles = rolesOfKeys(role === 'root' ? signed.roles : delegations?.roles);
    for (const k of keys.values()) {
      const served = roles.get(k.keyid) ?? [];
      findings.push(
        sslibKeyFinding(k, 'tuf', sslibKeyOffset(k, locate, doc.offset), `${keyPath}.${k.keyid}`, {
          metadata: role,
          ...(served.length ? { roles: served } : {}),
          ...(expires ? { metadataExpires: expires } : {}),
        }),
      );
    }
    arr(doc.value.signatures)
      .slice(0, MAX_OBJECTS_PER_ARTIFACT)
      .forEach((s, i) => {
        if (!isObject(s)) return;
        // Root is signed by its own root keys (§5.3.4): only those are sized here; other roles' signers live in root.json.
        const signers = role === 'root' ? keys : new Map();
        const f = sslibSignatureFinding(s, signers, 'tuf', locate(str(s.sig), doc.offset), `signatures[${i}]`, { metadata: role });
        if (expires) f.notAfter = expires;
        findings.push(f);
      });
  }
  return { findings, errors, annotations };
}

/** keyid → ["root (threshold 1)", …] from a roles map (root) or a delegated roles list (targets). */
function rolesOfKeys(roles: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (name: string, r: JsonObject) => {
    const t = typeof r.threshold === 'number' ? ` (threshold ${r.threshold})` : '';
    for (const id of arr(r.keyids).slice(0, MAX_OBJECTS_PER_ARTIFACT)) {
      if (typeof id !== 'string') continue;
      out.set(id, [...(out.get(id) ?? []), `${name}${t}`]);
    }
  };
  if (Array.isArray(roles)) {
    for (const r of roles.slice(0, MAX_OBJECTS_PER_ARTIFACT)) if (isObject(r)) add(str(r.name) ?? '?', r);
  } else if (isObject(roles as JsonObject)) {
    for (const [name, r] of Object.entries(roles as JsonObject)) if (isObject(r)) add(name, r);
  }
  return out;
}
