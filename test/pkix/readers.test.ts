/**
 * The PKIX structure readers (src/pkix/cms.ts, pkcs8.ts, certificate.ts) on files made by OpenSSL (fixtures/gen/pki.sh),
 * with expected values as `openssl cms -cmsout -print` and `openssl asn1parse` print them, and on broken structures.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParseError, parsing } from '../../src/errors.js';
import { parseCertificate } from '../../src/pkix/certificate.js';
import { attributeValues, CONTENT_TYPE, readContentInfo, readSignedData, readSignerIdentifier, readSignerInfo } from '../../src/pkix/cms.js';
import { parseDer } from '../../src/pkix/der.js';
import { integer, octets, oid, seq, set } from '../../src/pkix/der-writer.js';
import { findPemBlocks } from '../../src/pkix/pem.js';
import { PKCS8_OID, readEncryptedPrivateKeyInfo, readOneAsymmetricKey, readPbes2Params } from '../../src/pkix/pkcs8.js';
import { FIXTURES } from '../helpers/scan.js';

const pemDer = (p: string) => findPemBlocks(new Uint8Array(readFileSync(join(FIXTURES, p))))[0].der;
const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : undefined);

describe('CMS readers', () => {
  it('read a detached SignedData as openssl cms -cmsout -print does', () => {
    const ci = readContentInfo(parseDer(pemDer('pki/cms/signed-detached-ec.pem')));
    expect(ci.contentType).toBe(CONTENT_TYPE.signedData);
    const sd = readSignedData(ci.content!);
    expect(sd.eContentType).toBe(CONTENT_TYPE.data);
    expect(sd.eContent).toBeUndefined(); // eContent: <ABSENT>
    expect(sd.certificates!.children().map((c) => parseCertificate(c).serial)).toEqual([
      '3210f247a83ebfcde7c10897b136033166856a6d',
      '47ed0c7e0a70c0217e5d5695faf81c336ecd19d5',
    ]);
    const [node] = sd.signerInfos.children();
    const si = readSignerInfo(node);
    expect(si.digestAlgorithm.oid).toBe('2.16.840.1.101.3.4.2.1'); // sha256
    expect(si.signatureAlgorithm.oid).toBe('1.2.840.10045.4.3.2'); // ecdsa-with-SHA256
    const sid = readSignerIdentifier(si.sid);
    expect('issuer' in sid && hex(sid.serialNumber.content)).toBe('3210f247a83ebfcde7c10897b136033166856a6d');
    expect(attributeValues(si.signedAttrs!, '1.2.840.113549.1.9.3').map((v) => v.oid())).toEqual([CONTENT_TYPE.data]);
    expect(attributeValues(si.signedAttrs!, '1.2.840.113549.1.9.4')).toHaveLength(1);
  });

  it('name what is missing in a broken SignedData and SignerInfo', () => {
    const noSigners = seq(integer(1), set(), seq(oid(CONTENT_TYPE.data)), integer(0));
    expect(() => readSignedData(parseDer(noSigners))).toThrow(/signerInfos is not a SET/);
    expect(() => readSignedData(parseDer(seq(integer(1), set())))).toThrow(/SignedData at offset 0 is missing fields/);
    const shortSigner = seq(integer(1), seq(), seq(oid('2.16.840.1.101.3.4.2.1')), seq(oid('1.2.840.10045.4.3.2')));
    expect(() => readSignerInfo(parseDer(shortSigner))).toThrow(ParseError);
    const noSignature = seq(integer(1), seq(), seq(oid('2.16.840.1.101.3.4.2.1')), seq(oid('1.2.840.10045.4.3.2')), integer(5));
    expect(() => readSignerInfo(parseDer(noSignature))).toThrow(/no signatureAlgorithm\/signature/);
    expect(() => readSignerIdentifier(parseDer(seq(seq())))).toThrow(/needs issuer and serialNumber/);
    expect(() => readContentInfo(parseDer(seq(oid(CONTENT_TYPE.signedData), octets(Uint8Array.of(1)))))).toThrow(/not \[0\] EXPLICIT/);
  });
});

describe('PKCS#8 readers', () => {
  it('read PBES2 with PBKDF2 (openssl pkcs8 -v2 aes-256-cbc -v2prf hmacWithSHA256) as asn1parse does', () => {
    const epki = readEncryptedPrivateKeyInfo(parseDer(pemDer('pki/keys/rsa-pkcs8-pbkdf2.pem')));
    expect(epki.encryptionAlgorithm.oid).toBe(PKCS8_OID.pbes2);
    const p = readPbes2Params(epki.encryptionAlgorithm.params!);
    expect(p.keyDerivationFunc.oid).toBe(PKCS8_OID.pbkdf2);
    expect({ ...p.pbkdf2, salt: hex(p.pbkdf2?.salt) }).toEqual({
      salt: 'd348a101f651dfe2',
      iterations: 0x800,
      keyLength: undefined,
      prf: '1.2.840.113549.2.9',
    });
    expect(p.encryptionScheme.oid).toBe('2.16.840.1.101.3.4.1.42'); // aes-256-cbc
  });

  it('read PBES2 with scrypt (openssl pkcs8 -v2 aes-128-cbc -scrypt) as asn1parse does', () => {
    const p = readPbes2Params(readEncryptedPrivateKeyInfo(parseDer(pemDer('pki/keys/rsa-pkcs8-scrypt.pem'))).encryptionAlgorithm.params!);
    expect(p.keyDerivationFunc.oid).toBe(PKCS8_OID.scrypt);
    expect({ ...p.scrypt, salt: hex(p.scrypt?.salt) }).toEqual({
      salt: '7286701793795080',
      cost: 0x4000,
      blockSize: 8,
      parallelization: 1,
      keyLength: undefined,
    });
    expect(p.encryptionScheme.oid).toBe('2.16.840.1.101.3.4.1.2'); // aes-128-cbc
  });

  it('read a PrivateKeyInfo, and refuse one without its key', () => {
    const k = readOneAsymmetricKey(parseDer(new Uint8Array(readFileSync(join(FIXTURES, 'pki/keys/rsa-pkcs8.der')))));
    expect(k.algorithm.oid).toBe('1.2.840.113549.1.1.1');
    expect(k.privateKey.inner().children()).toHaveLength(9); // RSAPrivateKey
    expect(k.publicKey).toBeUndefined();
    expect(() => readOneAsymmetricKey(parseDer(seq(integer(0), seq(oid('1.2.840.113549.1.1.1')))))).toThrow(/needs version, algorithm and privateKey/);
    expect(() => readEncryptedPrivateKeyInfo(parseDer(seq(seq(oid(PKCS8_OID.pbes2)))))).toThrow(/needs algorithm and data/);
  });
});

describe('parsing', () => {
  it('names the file a reader failed on, keeping the reason, code and offset', () => {
    let err: unknown;
    try {
      parsing('keys/release.key', () => readOneAsymmetricKey(parseDer(Uint8Array.of(0x30, 0x05, 0x02))), 'not a key');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ParseError);
    expect(err).toMatchObject({
      uri: 'keys/release.key',
      code: 'truncated',
      offset: 0,
      message: expect.stringMatching(/^not a key: DER value at offset 0 claims 5 bytes/),
    });
    const bug = new TypeError('x');
    expect(() =>
      parsing('k', () => {
        throw bug;
      }),
    ).toThrow(bug);
  });
});
