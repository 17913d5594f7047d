/**
 * The algorithm catalogue: rules/algorithms.yaml turned into lookups that give every detector the same canonical
 * ids (docs/architecture.md), families, classical security bits and quantum status. Pure after the one load.
 * @module
 */
import { join } from 'node:path';
import type { z } from 'zod';
import type { Algorithm, Quantum, QuantumStatus } from '../model.js';
import { zod } from '../rules/libraries.js';
import { bundledRulesDir, loadRulesFile } from '../rules/loader.js';

/** The schema of rules/algorithms.yaml, made on first use (zod is loaded only when a rules file is parsed). */
function defineSchema() {
  const { z } = zod();
  const Role = z.enum(['signature', 'key', 'kem', 'key-transport', 'key-agreement', 'digest', 'cipher', 'kdf', 'pbe']);
  const Status = z.enum(['vulnerable', 'weakened', 'resistant', 'hybrid']);

  const IdEntry = z
    .object({
      name: z.string().optional(),
      id: z.string().optional(),
      family: z.string().optional(),
      hash: z.string().optional(),
      mode: z.string().optional(),
      role: Role.optional(),
    })
    .strict();

  const CatalogueSchema = z
    .object({
      version: z.literal(1),
      families: z.record(z.string(), z.object({ quantum: Status, strength: z.enum(['modulus', 'curve', 'fixed']) }).strict()),
      modulusStrength: z.array(z.object({ minBits: z.number().int().min(0), bits: z.number().int().positive() }).strict()),
      curves: z.record(
        z.string(),
        z.object({ oid: z.string().regex(/^\d+(\.\d+)+$/), bits: z.number().int().positive(), aliases: z.array(z.string()).optional() }).strict(),
      ),
      algorithms: z.record(
        z.string(),
        z
          .object({
            family: z.string(),
            bits: z.number().int().positive().nullable(),
            nistLevel: z.number().int().min(1).max(5).optional(),
            quantum: Status.optional(),
          })
          .strict(),
      ),
      oids: z.record(z.string().regex(/^\d+(\.\d+)+$/), IdEntry.extend({ name: z.string() }).strict()),
      jose: z.record(z.string(), IdEntry),
      cose: z.record(z.string().regex(/^-?\d+$/), IdEntry),
      openpgp: z
        .object({
          publicKey: z.record(z.string().regex(/^\d+$/), IdEntry),
          hash: z.record(z.string().regex(/^\d+$/), z.string()),
          symmetric: z.record(z.string().regex(/^\d+$/), z.string()),
          aead: z.record(z.string().regex(/^\d+$/), z.string()),
          curves: z.record(z.string(), z.string()),
        })
        .strict(),
      ssh: z.record(z.string(), IdEntry),
      securesystemslib: z.record(z.string(), IdEntry),
      pemCiphers: z.record(z.string(), IdEntry),
      oidPrefixes: z.record(z.string(), IdEntry),
    })
    .strict();
  return { CatalogueSchema, IdEntry };
}

let schema: ReturnType<typeof defineSchema> | undefined;
export function catalogueSchema(): ReturnType<typeof defineSchema>['CatalogueSchema'] {
  return (schema ??= defineSchema()).CatalogueSchema;
}

export type CatalogueData = z.infer<ReturnType<typeof catalogueSchema>>;
export type CatalogueEntry = z.infer<ReturnType<typeof defineSchema>['IdEntry']>;

export interface Described {
  algorithm: Algorithm;
  quantum: Quantum;
}

export class Catalogue {
  private readonly curveByOid = new Map<string, string>();
  private readonly curveByAlias = new Map<string, string>();

  constructor(readonly data: CatalogueData) {
    for (const [token, c] of Object.entries(data.curves)) {
      this.curveByOid.set(c.oid, token);
      this.curveByAlias.set(token.toLowerCase(), token);
      for (const a of c.aliases ?? []) this.curveByAlias.set(a.toLowerCase(), token);
    }
    // Validate cross-references once, so a typo in the YAML fails at load time, not mid-scan.
    for (const [oid, e] of Object.entries(data.oids)) this.checkEntry(`oids.${oid}`, e);
    for (const [k, e] of Object.entries(data.jose)) this.checkEntry(`jose.${k}`, e);
    for (const [k, e] of Object.entries(data.ssh)) this.checkEntry(`ssh.${k}`, e);
    for (const [k, e] of Object.entries(data.securesystemslib)) this.checkEntry(`securesystemslib.${k}`, e);
    for (const [k, e] of Object.entries(data.openpgp.publicKey)) this.checkEntry(`openpgp.publicKey.${k}`, e);
    for (const [id, a] of Object.entries(data.algorithms)) {
      if (!data.families[a.family]) throw new Error(`algorithms.${id}: unknown family ${a.family}`);
    }
  }

  private checkEntry(where: string, e: CatalogueEntry): void {
    if (e.family && !this.data.families[e.family]) throw new Error(`${where}: unknown family ${e.family}`);
    if (e.id) {
      const q = this.describeId(e.id);
      if (q.quantum.status === 'unknown') throw new Error(`${where}: id ${e.id} is not a canonical id`);
    }
  }

  /** Canonical curve token (`P256`, `brainpoolP256r1`) from an OID or any common spelling. */
  curve(oidOrName: string): string | undefined {
    return this.curveByOid.get(oidOrName) ?? this.curveByAlias.get(oidOrName.toLowerCase());
  }

  curveBits(token: string): number | undefined {
    return this.data.curves[token]?.bits;
  }

  oid(oid: string): CatalogueEntry | undefined {
    const hit = this.data.oids[oid];
    if (hit) return hit;
    for (const [prefix, e] of Object.entries(this.data.oidPrefixes)) if (oid.startsWith(prefix)) return e;
    return undefined;
  }

  hashName(oid: string): string | undefined {
    const e = this.data.oids[oid];
    return e?.role === 'digest' ? e.hash : undefined;
  }

  /**
   * Quantum status, classical bits and NIST level of a canonical id.
   * Understands parametric ids (`RSA-3072`, `ECDSA-P384`, `DH-2048`) and composites (`ML-DSA-65+ECDSA-P256`).
   */
  describeId(id: string): { family: string; quantum: Quantum } {
    const fixed = this.data.algorithms[id];
    if (fixed) {
      const fam = this.data.families[fixed.family];
      return {
        family: fixed.family,
        quantum: { status: fixed.quantum ?? fam.quantum, classicalBits: fixed.bits, nistLevel: fixed.nistLevel ?? null },
      };
    }
    if (id.includes('+')) {
      const parts = id.split('+').map((p) => this.describeId(p));
      if (parts.some((p) => p.quantum.status === 'unknown')) return unknownId();
      const pq = parts.find((p) => p.quantum.status === 'resistant');
      const status: QuantumStatus = pq ? 'hybrid' : 'vulnerable';
      const bits = Math.max(...parts.map((p) => p.quantum.classicalBits ?? 0));
      return { family: 'Composite', quantum: { status, classicalBits: bits || null, nistLevel: pq?.quantum.nistLevel ?? null } };
    }
    const m = id.match(/^(RSA|DSA|DH|ElGamal)-(\d+)$/);
    if (m) {
      const fam = this.data.families[m[1]];
      return { family: m[1], quantum: { status: fam.quantum, classicalBits: this.modulusBits(Number(m[2])), nistLevel: null } };
    }
    const c = id.match(/^(ECDSA|ECDH)-(.+)$/);
    if (c && this.data.curves[c[2]]) {
      return { family: c[1], quantum: { status: 'vulnerable', classicalBits: this.data.curves[c[2]].bits, nistLevel: null } };
    }
    const fam = this.data.families[id];
    if (fam) return { family: id, quantum: { status: fam.quantum, classicalBits: null, nistLevel: null } };
    return unknownId();
  }

  modulusBits(bits: number): number {
    for (const row of this.data.modulusStrength) if (bits >= row.minBits) return row.bits;
    return 0;
  }

  /**
   * Build the finding's algorithm + quantum from a catalogue entry and whatever the key told us.
   * `key` supplies the parameter a family-only entry lacks (modulus bits, curve token, or a full id).
   */
  resolve(entry: CatalogueEntry | undefined, key: KeyParams = {}, extra: Partial<Algorithm> = {}): Described {
    if (!entry) {
      const id = extra.oid ? `unknown:${extra.oid}` : 'unknown';
      return {
        algorithm: { id, family: 'unknown', ...extra },
        quantum: { status: 'unknown', classicalBits: null, nistLevel: null },
      };
    }
    let id: string;
    let parameterKnown: boolean | undefined;
    if (key.id) id = key.id;
    else if (entry.id) id = entry.id;
    else if (entry.family) {
      const fam = entry.family;
      if (key.bits && ['RSA', 'DSA', 'DH', 'ElGamal'].includes(fam)) id = `${fam}-${key.bits}`;
      else if (key.curve && (fam === 'ECDSA' || fam === 'ECDH')) id = `${fam}-${key.curve}`;
      else {
        id = fam;
        parameterKnown = false;
      }
    } else id = 'unknown';
    const d = this.describeId(id);
    const algorithm: Algorithm = { id, family: d.family, ...extra };
    if (entry.name && !algorithm.name) algorithm.name = entry.name;
    const hash = extra.hash ?? entry.hash;
    if (hash) algorithm.hash = hash;
    if (entry.mode && !algorithm.mode) algorithm.mode = entry.mode;
    if (parameterKnown === false) algorithm.parameterKnown = false;
    return { algorithm, quantum: d.quantum };
  }

  /** Shorthand: describe a canonical id directly (e.g. a key whose type the parser already knows). */
  byId(id: string, extra: Partial<Algorithm> = {}): Described {
    const d = this.describeId(id);
    return { algorithm: { id, family: d.family, ...extra }, quantum: d.quantum };
  }

  /** Describe an RSA/DSA/DH key by modulus size, or an EC key by curve OID/name. */
  forKey(family: 'RSA' | 'DSA' | 'DH' | 'ElGamal', bits: number, extra?: Partial<Algorithm>): Described;
  forKey(family: 'ECDSA' | 'ECDH', curve: string, extra?: Partial<Algorithm>): Described;
  forKey(family: string, param: number | string, extra: Partial<Algorithm> = {}): Described {
    if (typeof param === 'number') return this.byId(`${family}-${param}`, extra);
    const token = this.curve(param);
    if (!token) {
      return {
        algorithm: { id: `${family}-${param}`, family, parameterKnown: false, ...extra },
        quantum: { status: 'vulnerable', classicalBits: null, nistLevel: null },
      };
    }
    return this.byId(`${family}-${token}`, extra);
  }
}

export interface KeyParams {
  /** Modulus size for RSA/DSA/DH/ElGamal. */
  bits?: number;
  /** Canonical curve token for EC families. */
  curve?: string;
  /** A complete canonical id when the key already pins it (e.g. Ed448 from a JWK crv). */
  id?: string;
}

function unknownId(): { family: string; quantum: Quantum } {
  return { family: 'unknown', quantum: { status: 'unknown', classicalBits: null, nistLevel: null } };
}

let cached: Catalogue | undefined;

/** The bundled catalogue, loaded and validated once per process. */
export function catalogue(): Catalogue {
  cached ??= loadCatalogue(join(bundledRulesDir(), 'algorithms.yaml'));
  return cached;
}

export function loadCatalogue(file: string): Catalogue {
  return new Catalogue(loadRulesFile(file, catalogueSchema));
}
