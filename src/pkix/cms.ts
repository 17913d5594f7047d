/**
 * CMS structure (RFC 5652): ContentInfo (§3), SignedData (§5.1), SignerInfo (§5.3), SignerIdentifier and attributes.
 * The one reader of these structures: the CMS detector walks what it reads into findings (every content type,
 * nested signatures and timestamps), resign reads its own detached signatures with it to verify them. Hostile input
 * throws ParseError naming the structure and its offset; what a reader then accepts (BER, several signers, attached
 * content) is the caller's policy.
 * @module
 */
import { ParseError } from '../errors.js';
import { readAlgorithmIdentifier, type AlgorithmIdentifier } from './algorithm.js';
import { TAG, type DerNode } from './der.js';

/** PKCS#7 / CMS content types (RFC 5652 §14, RFC 5083, RFC 3161). */
export const CONTENT_TYPE = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  signedAndEnvelopedData: '1.2.840.113549.1.7.4',
  digestedData: '1.2.840.113549.1.7.5',
  encryptedData: '1.2.840.113549.1.7.6',
  authenticatedData: '1.2.840.113549.1.9.16.1.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  compressedData: '1.2.840.113549.1.9.16.1.9',
  authEnvelopedData: '1.2.840.113549.1.9.16.1.23',
} as const;

export interface ContentInfo {
  contentType: string;
  /** The content inside `[0] EXPLICIT`, absent in a degenerate type-only ContentInfo. */
  content?: DerNode;
}

/** ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY OPTIONAL } (RFC 5652 §3) */
export function readContentInfo(node: DerNode): ContentInfo {
  node.expect(TAG.SEQUENCE, 'ContentInfo');
  const kids = node.children();
  if (kids.length === 0 || kids[0].tag !== TAG.OID) throw new ParseError(`ContentInfo at offset ${node.start} has no contentType`, node.start);
  const contentType = kids[0].oid();
  const wrapped = kids[1];
  if (!wrapped) return { contentType };
  if (!wrapped.isContext(0)) throw new ParseError(`ContentInfo at offset ${node.start}: content is not [0] EXPLICIT`, wrapped.start);
  return { contentType, content: wrapped.inner() };
}

export interface SignedData {
  digestAlgorithms: DerNode;
  encapContentInfo: DerNode;
  eContentType?: string;
  /** eContent [0] EXPLICIT OCTET STRING: absent for a detached signature. */
  eContent?: DerNode;
  /** certificates [0] IMPLICIT CertificateSet. */
  certificates?: DerNode;
  /** crls [1] IMPLICIT RevocationInfoChoices. */
  crls?: DerNode;
  /** signerInfos SET OF SignerInfo. */
  signerInfos: DerNode;
}

/**
 * SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo, certificates [0] IMPLICIT OPTIONAL,
 *   crls [1] IMPLICIT OPTIONAL, signerInfos SET OF SignerInfo } (RFC 5652 §5.1)
 */
export function readSignedData(node: DerNode): SignedData {
  node.expect(TAG.SEQUENCE, 'SignedData');
  const kids = node.children();
  if (kids.length < 4 || kids[0].tag !== TAG.INTEGER) throw new ParseError(`SignedData at offset ${node.start} is missing fields`, node.start);
  const encapContentInfo = kids[2].expect(TAG.SEQUENCE, 'EncapsulatedContentInfo');
  const encap = encapContentInfo.children();
  const signerInfos = kids[kids.length - 1];
  if (signerInfos.tag !== TAG.SET) throw new ParseError(`SignedData at offset ${node.start}: signerInfos is not a SET`, signerInfos.start);
  const between = kids.slice(3, -1);
  const certificates = between.find((k) => k.isContext(0));
  const crls = between.find((k) => k.isContext(1));
  return {
    digestAlgorithms: kids[1],
    encapContentInfo,
    ...(encap[0] ? { eContentType: encap[0].oid() } : {}),
    ...(encap[1]?.isContext(0) ? { eContent: encap[1] } : {}),
    ...(certificates ? { certificates } : {}),
    ...(crls ? { crls } : {}),
    signerInfos,
  };
}

export interface SignerInfo {
  /** SignerIdentifier: IssuerAndSerialNumber (SEQUENCE) or [0] SubjectKeyIdentifier; see readSignerIdentifier. */
  sid: DerNode;
  digestAlgorithm: AlgorithmIdentifier;
  /** signedAttrs [0] IMPLICIT SET OF Attribute, as encoded (re-tag 0x31 to get what was signed, §5.4). */
  signedAttrs?: DerNode;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
  unsignedAttrs?: DerNode;
}

/**
 * SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, signedAttrs [0] IMPLICIT OPTIONAL, signatureAlgorithm,
 *   signature OCTET STRING, unsignedAttrs [1] IMPLICIT OPTIONAL } (RFC 5652 §5.3)
 */
export function readSignerInfo(node: DerNode): SignerInfo {
  node.expect(TAG.SEQUENCE, 'SignerInfo');
  const kids = node.children();
  if (kids.length < 5 || kids[0].tag !== TAG.INTEGER) throw new ParseError('SignerInfo is missing fields', node.start);
  let i = 1;
  const sid = kids[i++];
  const digestAlgorithm = readAlgorithmIdentifier(kids[i++]);
  const signedAttrs = kids[i]?.isContext(0) ? kids[i++] : undefined;
  const sigAlgNode = kids[i++];
  const sigValue = kids[i++];
  const unsignedAttrs = kids[i]?.isContext(1) ? kids[i] : undefined;
  if (!sigAlgNode || !sigValue || sigValue.tag !== TAG.OCTET_STRING) throw new ParseError('SignerInfo has no signatureAlgorithm/signature', node.start);
  return {
    sid,
    digestAlgorithm,
    ...(signedAttrs ? { signedAttrs } : {}),
    signatureAlgorithm: readAlgorithmIdentifier(sigAlgNode),
    signature: sigValue.content,
    ...(unsignedAttrs ? { unsignedAttrs } : {}),
  };
}

/** SignerIdentifier / RecipientIdentifier: the certificate it names (RFC 5652 §5.3, §6.2.1). */
export type CertificateReference = { issuer: DerNode; serialNumber: DerNode } | { subjectKeyIdentifier: Uint8Array };

/** IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber INTEGER }, or [0] SubjectKeyIdentifier. */
export function readSignerIdentifier(id: DerNode): CertificateReference {
  if (id.isContext(0)) return { subjectKeyIdentifier: id.content };
  id.expect(TAG.SEQUENCE, 'IssuerAndSerialNumber');
  const [issuer, serialNumber] = id.children();
  if (!issuer || serialNumber?.tag !== TAG.INTEGER) throw new ParseError(`IssuerAndSerialNumber at offset ${id.start} needs issuer and serialNumber`, id.start);
  return { issuer: issuer.expect(TAG.SEQUENCE, 'issuer'), serialNumber };
}

/** Attribute ::= SEQUENCE { attrType OID, attrValues SET OF ANY }: the values of every attribute of this type. */
export function attributeValues(attrs: DerNode, type: string): DerNode[] {
  const out: DerNode[] = [];
  for (const a of attrs.children()) {
    if (a.tag !== TAG.SEQUENCE) continue;
    const [t, values] = a.children();
    if (t?.tag !== TAG.OID || values?.tag !== TAG.SET || t.oid() !== type) continue;
    out.push(...values.children());
  }
  return out;
}
