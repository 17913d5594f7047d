/**
 * The small fixture files the small-file benches copy into their trees: certificates and keys, OpenPGP and SSH files
 * that detectors claim, by name (sorted, so every run builds the same tree).
 * @module
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function smallFixtureFiles(root: string): string[] {
  const out: string[] = [];
  const take = (dir: string, keep: (f: string) => boolean) => {
    for (const f of readdirSync(dir).sort()) {
      const p = join(dir, f);
      const st = statSync(p);
      if (st.isFile() && st.size > 0 && st.size < 16_384 && keep(f)) out.push(p);
    }
  };
  take(join(root, 'fixtures', 'pki', 'certs'), () => true);
  take(join(root, 'fixtures', 'pki', 'keys'), () => true);
  take(join(root, 'fixtures', 'openpgp'), (f) => /\.(asc|gpg|sig|pgp)$/.test(f) && !/^(bad|absurd|trunc)/.test(f));
  take(join(root, 'fixtures', 'ssh-jose'), (f) => /\.pub$|^authorized_keys$/.test(f) && !f.startsWith('bad'));
  return out;
}
