/**
 * Where a DER certificate can start in a blob: a SEQUENCE with a two- or three-byte length (`30 82 LL LL`, `30 83 LL
 * LL LL`), which every certificate over 255 bytes opens with (X.690 §8.1.3.5; RFC 5280 §4.1). Found by a native
 * search for those two byte pairs rather than one for every 0x30 byte (an ASCII "0", frequent in text), so the x509
 * carver and the raw-key carver pay a call per candidate, not per "0".
 * @module
 */
const SEQ_LEN2 = Buffer.from([0x30, 0x82]);
const SEQ_LEN3 = Buffer.from([0x30, 0x83]);

export class CertificateHeads {
  private readonly buf: Buffer;
  /** The next `30 82` and `30 83` at or after the last search (-1: none left; -2: not searched yet). */
  private at2 = -2;
  private at3 = -2;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The first offset at or after `from` where `30 82` or `30 83` starts, or -1. Calls must not go backwards. */
  next(from: number): number {
    if (this.at2 !== -1 && this.at2 < from) this.at2 = this.buf.indexOf(SEQ_LEN2, from);
    if (this.at3 !== -1 && this.at3 < from) this.at3 = this.buf.indexOf(SEQ_LEN3, from);
    if (this.at2 < 0) return this.at3;
    if (this.at3 < 0) return this.at2;
    return Math.min(this.at2, this.at3);
  }
}
