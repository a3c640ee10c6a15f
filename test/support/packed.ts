import * as fs from 'fs';

/** kubepin as `npm pack` made it, built and packed once per test run by global-setup.js. */
export interface PackedKubepin {
  /** The tarball `npm pack` wrote. */
  readonly tarball: string;
  /** A project whose node_modules holds kubepin (unpacked) and links to its dependencies and peers. */
  readonly project: string;
  /** The unpacked package: `<project>/node_modules/kubepin` (bin/, dist/lib/, validation-plugin/, package.json). */
  readonly dir: string;
  /** Bytes of the tarball. */
  readonly size: number;
  /** Bytes of the files in it. */
  readonly unpackedSize: number;
  /** The paths in the tarball, relative to package/. */
  readonly files: readonly string[];
}

/**
 * The packed kubepin of this run. Read-only: a test that changes the package copies `dir`.
 * global-setup.js builds it when a selected test file imports this module.
 */
export function packedKubepin(): PackedKubepin {
  const record = process.env.KUBEPIN_TEST_PACKED;
  if (!record) throw new Error('kubepin was not packed for this run: global-setup.js packs it when a selected test file imports test/support/packed');
  return JSON.parse(fs.readFileSync(record, 'utf8')) as PackedKubepin;
}
