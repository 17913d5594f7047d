/**
 * A validator for OCSF events built from the schema's own definition files (test/vendor/ocsf/): a class's attributes
 * are its `extends` chain merged with the dictionary (type, is_array, enum); objects likewise. Checks: required
 * attributes present, no attribute the class or object does not define, primitive types, enum values, object
 * constraints (at_least_one), and the uid arithmetic (class_uid = category_uid·1000 + class uid; type_uid =
 * class_uid·100 + activity_id).
 * @module
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', 'vendor', 'ocsf', 'v1.2.0');

interface AttrDef {
  type?: string;
  is_array?: boolean;
  requirement?: string;
  enum?: Record<string, { caption: string }>;
}
interface Def {
  name: string;
  uid?: number;
  caption?: string;
  category?: string;
  extends?: string;
  attributes: Record<string, AttrDef>;
  constraints?: { at_least_one?: string[]; just_one?: string[] };
}

const read = (p: string) => JSON.parse(readFileSync(join(ROOT, p), 'utf8'));
const dictionary = read('dictionary.json') as { attributes: Record<string, AttrDef>; types: { attributes: Record<string, { type?: string }> } };
const categories = read('categories.json') as { attributes: Record<string, { uid: number; caption: string }> };

/** `$include` of an `includes/` file merges its attributes always; `profiles/` only when a profile is applied (none). */
function withIncludes(d: Def): Def[] {
  const inc = (d.attributes.$include as unknown as string[] | undefined) ?? [];
  return [...inc.filter((f) => f.startsWith('includes/')).map((f) => ({ ...(read(f) as Def), name: d.name, extends: undefined })), d];
}

function merge(chain: Def[]): Def {
  const out: Def = { name: chain[chain.length - 1].name, attributes: {} };
  for (const d of chain.flatMap(withIncludes)) {
    Object.assign(out, { ...d, attributes: out.attributes });
    for (const [k, v] of Object.entries(d.attributes)) {
      if (k === '$include') continue; // profiles: shelflife applies none
      const prev = out.attributes[k] ?? {};
      out.attributes[k] = { ...prev, ...v, ...(prev.enum || v.enum ? { enum: { ...prev.enum, ...v.enum } } : {}) };
    }
  }
  for (const [k, v] of Object.entries(out.attributes)) {
    // The schema compiler fills the enums of category_uid/class_uid/type_uid from categories.json and the classes;
    // the dictionary holds only their 0 entry. They are checked by arithmetic in validateComplianceFinding.
    if (k === 'category_uid' || k === 'class_uid' || k === 'type_uid') {
      out.attributes[k] = { ...dictionary.attributes[k], ...v, enum: undefined };
      continue;
    }
    const d = dictionary.attributes[k];
    if (!d) throw new Error(`vendored dictionary lacks attribute ${k}`);
    out.attributes[k] = { ...d, ...v, ...(d.enum || v.enum ? { enum: { ...d.enum, ...v.enum } } : {}) };
  }
  return out;
}

function chainOf(kind: 'events' | 'objects', file: string): Def[] {
  const chain: Def[] = [];
  let f: string | undefined = file;
  while (f) {
    const d = read(f) as Def;
    chain.unshift(d);
    if (!d.extends) break;
    const parent: string = d.extends;
    f = kind === 'objects' ? `objects/${parent}.json` : ['events/base_event.json', 'events/findings/finding.json'].find((p) => p.endsWith(`/${parent}.json`));
    if (!f || !existsSync(join(ROOT, f))) throw new Error(`${parent} (extended by ${d.name}) is not vendored`);
  }
  return chain;
}

export function ocsfClass(name: 'compliance_finding'): Def {
  return merge(chainOf('events', `events/findings/${name}.json`));
}

function primitive(type: string): string {
  let t = type;
  for (let i = 0; i < 4 && dictionary.types.attributes[t]?.type; i++) t = dictionary.types.attributes[t].type!;
  return t;
}

function checkValue(value: unknown, def: AttrDef, path: string, errors: string[]): void {
  if (def.is_array) {
    if (!Array.isArray(value)) return void errors.push(`${path}: expected an array`);
    value.forEach((v, i) => checkValue(v, { ...def, is_array: false }, `${path}[${i}]`, errors));
    return;
  }
  const type = def.type ?? 'string_t';
  if (type === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) errors.push(`${path}: expected an object`);
    return;
  }
  if (!type.endsWith('_t')) {
    if (!existsSync(join(ROOT, 'objects', `${type}.json`))) return void errors.push(`${path}: object ${type} is not vendored`);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return void errors.push(`${path}: expected object ${type}`);
    validateObject(value as Record<string, unknown>, merge(chainOf('objects', `objects/${type}.json`)), path, errors);
    return;
  }
  const p = primitive(type);
  const ok =
    p === 'json_t'
      ? value !== undefined
      : p === 'string_t'
        ? typeof value === 'string'
        : p === 'integer_t' || p === 'long_t'
          ? Number.isInteger(value)
          : p === 'float_t'
            ? typeof value === 'number'
            : p === 'boolean_t'
              ? typeof value === 'boolean'
              : false;
  if (!ok) errors.push(`${path}: ${JSON.stringify(value)} is not a ${type}`);
  if (def.enum && !Object.prototype.hasOwnProperty.call(def.enum, String(value)))
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${Object.keys(def.enum).join(', ')}`);
}

function validateObject(o: Record<string, unknown>, def: Def, path: string, errors: string[]): void {
  for (const [k, a] of Object.entries(def.attributes))
    if (a.requirement === 'required' && o[k] === undefined) errors.push(`${path}.${k}: required by ${def.name}`);
  for (const [k, v] of Object.entries(o)) {
    const a = def.attributes[k];
    if (!a) errors.push(`${path}.${k}: not an attribute of ${def.name}`);
    else checkValue(v, a, `${path}.${k}`, errors);
  }
  if (def.constraints?.at_least_one && !def.constraints.at_least_one.some((k) => o[k] !== undefined))
    errors.push(`${path}: ${def.name} needs at least one of ${def.constraints.at_least_one.join(', ')}`);
}

/** Every problem with `event` as an OCSF v1.2.0 Compliance Finding; empty when it validates. */
export function validateComplianceFinding(event: Record<string, unknown>): string[] {
  const def = ocsfClass('compliance_finding');
  const errors: string[] = [];
  validateObject(event, def, '$', errors);
  const category = categories.attributes[def.category!];
  const classUid = category.uid * 1000 + def.uid!;
  if (event.class_uid !== classUid) errors.push(`$.class_uid: ${event.class_uid} is not ${classUid}`);
  if (event.category_uid !== category.uid) errors.push(`$.category_uid: ${event.category_uid} is not ${category.uid}`);
  if (event.type_uid !== classUid * 100 + Number(event.activity_id)) errors.push(`$.type_uid: ${event.type_uid} is not class_uid·100 + activity_id`);
  const caption = (attr: string, id: unknown) => def.attributes[attr].enum?.[String(id)]?.caption;
  for (const [name, id] of [
    ['activity_name', 'activity_id'],
    ['severity', 'severity_id'],
    ['status', 'status_id'],
  ] as const) {
    if (event[name] !== undefined && event[name] !== caption(id, event[id]))
      errors.push(`$.${name}: "${event[name]}" is not the caption of ${id} ${event[id]} ("${caption(id, event[id])}")`);
  }
  if (event.class_name !== undefined && event.class_name !== def.caption) errors.push(`$.class_name: not "${def.caption}"`);
  if (event.category_name !== undefined && event.category_name !== category.caption) errors.push(`$.category_name: not "${category.caption}"`);
  return errors;
}
