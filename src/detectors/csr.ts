/**
 * PKCS#10 certificate requests (RFC 2986 §4): PEM (`CERTIFICATE REQUEST`, and `NEW CERTIFICATE REQUEST` as Windows and
 * older Netscape tools write it) and DER files named like requests. The requested key is a public-key finding with
 * the subject it asks for and the algorithm of its self-signature; a key with explicit EC parameters is named by
 * matching them against the known curves (pkix/algorithm.ts) and says it was explicit.
 * @module
 */
import { ParseError, rethrowUnlessParseError } from '../errors.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { describeSignatureAlgorithm, describeSpki, readAlgorithmIdentifier } from '../pkix/algorithm.js';
import { readName, sha256Hex } from '../pkix/certificate.js';
import { parseDer, readNode, TAG, type DerNode } from '../pkix/der.js';
import { findPemBlocks } from '../pkix/pem.js';
import type { Detector, DetectResult } from './types.js';

const LABELS = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
const DER_NAME = /\.(csr|req|p10)$/i;

export const csrDetector: Detector = {
  format: 'csr',
  description: 'PKCS#10 certificate requests (PEM and DER): the requested key, subject and self-signature algorithm',
  claims: { names: ['*.csr', '*.req', '*.p10'], contains: ['-----BEGIN CERTIFICATE REQUEST', '-----BEGIN NEW CERTIFICATE REQUEST'] },
  detect: detectCsr,
};

function detectCsr(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const blocks = findPemBlocks(bytes, (l) => LABELS.has(l));
  for (const block of blocks) {
    if (block.error) {
      errors.push({ code: 'malformed', message: `${block.error} at offset ${block.offset}`, offset: block.offset });
      continue;
    }
    try {
      findings.push(requestFinding(parseDer(block.der), block.offset));
    } catch (e) {
      rethrowUnlessParseError(e);
      errors.push({
        code: e.code === 'truncated' ? 'truncated' : 'malformed',
        message: `certificate request at offset ${block.offset}: ${e.message}`,
        offset: block.offset,
      });
    }
  }
  if (blocks.length === 0 && ctx.whole && ctx.baseOffset === 0 && DER_NAME.test(ctx.name) && bytes[0] === TAG.SEQUENCE) {
    try {
      findings.push(requestFinding(readNode(bytes, 0, bytes.length), 0));
    } catch (e) {
      rethrowUnlessParseError(e);
      errors.push({ code: e.code === 'truncated' ? 'truncated' : 'malformed', message: `named like a certificate request but is not one: ${e.message}` });
    }
  }
  return { findings, errors };
}

/**
 * CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING };
 * CertificationRequestInfo ::= SEQUENCE { version INTEGER (0), subject Name, subjectPKInfo, attributes [0] }.
 */
function requestFinding(node: DerNode, offset: number): Finding {
  node.expect(TAG.SEQUENCE, 'CertificationRequest');
  const [info, sigAlgNode, sigValue] = node.children();
  if (!info || !sigAlgNode || !sigValue) throw new ParseError(`CertificationRequest has fewer than 3 parts`, node.start);
  info.expect(TAG.SEQUENCE, 'CertificationRequestInfo');
  sigValue.expect(TAG.BIT_STRING, 'signature');
  const [version, subject, spki, attributes] = info.children();
  if (version?.tag !== TAG.INTEGER || !subject || !spki) throw new ParseError('CertificationRequestInfo is missing fields', info.start);
  if (attributes && !attributes.isContext(0)) throw new ParseError('CertificationRequestInfo attributes are not [0]', attributes.start);
  const key = describeSpki(spki);
  // The request is signed by the key it carries (RFC 2986 §3 step 3): that key sizes the signature.
  const signature = describeSignatureAlgorithm(readAlgorithmIdentifier(sigAlgNode), key);
  const { hash: _hash, ...algorithm } = key.algorithm;
  return {
    kind: 'public-key',
    format: 'csr',
    algorithm,
    quantum: key.quantum,
    location: { offset },
    subject: readName(subject),
    fingerprint: sha256Hex(spki.encoded),
    details: {
      certificateRequest: true,
      signatureAlgorithm: signature.algorithm,
      ...(signature.algorithm.parameterKnown !== false ? { signatureParameterFrom: 'key' } : {}),
      ...(key.explicitParameters ? { explicitCurveParameters: true } : {}),
    },
  };
}
