import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ImageLock } from '../../lib/core/lock/image-lock';
import { findPodTemplate, isObject } from '../../lib/core/objects/pod-templates';

/** Real public index digests (from ../shared/public-digests.json, copied into the repo's lock). */
export const DIGESTS = {
  nginx: 'sha256:6784fb0834aa7dbbe12e3d7471e69c290df3e6ba810dc38b34ae33d3c1c05f7d',
  busybox: 'sha256:73aaf090f3d85aa34ee199857f03fa3a95c8ede2ffd4cc2cdb5b94e566b11662',
  pause: 'sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a',
  redis: 'sha256:fbdbaea47b9ae4ecc2082ecdb4e1cea81e32176ffb1dcf643d422ad07427e5d9',
  postgres: 'sha256:e62fbf9d3e2b49816a32c400ed2dba83e3b361e6833e624024309c35d334b412',
} as const;

const INDEX = 'application/vnd.oci.image.index.v1+json';

/** A lock with nginx, busybox, pause, redis and postgres, loaded from the repository's example lock. */
export function exampleLock(): ImageLock {
  return ImageLock.load(path.join(__dirname, '..', '..', 'kubepin.lock.json'));
}

/** An in-memory lock (never saved) with the given tag → digest entries. */
export function lockWith(entries: Record<string, string>): ImageLock {
  const lock = ImageLock.empty(path.join(os.tmpdir(), 'kubepin-never-saved.lock.json'));
  for (const [image, digest] of Object.entries(entries)) lock.set(image, { digest, mediaType: INDEX });
  return lock;
}

/** A temporary directory removed by the returned cleanup function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-cdk8s-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Validates `doc` against the kubernetes-models schema of its kind (built-in kinds only). */
export function validateSchema(doc: any): void {
  const [group, version] = String(doc.apiVersion).includes('/') ? String(doc.apiVersion).split('/') : [undefined, doc.apiVersion];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(`kubernetes-models/${group ? `${group}/` : ''}${version}/${doc.kind}`);
  new mod[doc.kind](doc).validate();
}

/** Fields of a core/v1 Container (the schema validator accepts unknown keys, so we check these ourselves). */
const CONTAINER_FIELDS = new Set([
  'name', 'image', 'command', 'args', 'workingDir', 'ports', 'envFrom', 'env', 'resources', 'resizePolicy',
  'restartPolicy', 'volumeMounts', 'volumeDevices', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle',
  'terminationMessagePath', 'terminationMessagePolicy', 'imagePullPolicy', 'securityContext', 'stdin', 'stdinOnce', 'tty',
]);

/**
 * Asserts that the fields kubepin writes carry no unknown keys: containers, `imagePullSecrets`
 * entries (exactly `{ name }`), and a ServiceAccount's `imagePullSecrets`.
 */
export function assertNoUnknownKeys(doc: any): void {
  const template = findPodTemplate(doc);
  if (template) {
    for (const list of ['containers', 'initContainers'] as const) {
      for (const c of (template.spec[list] as any[]) ?? []) {
        const unknown = Object.keys(c).filter((k) => !CONTAINER_FIELDS.has(k));
        if (unknown.length > 0) throw new Error(`${doc.kind} ${doc.metadata?.name}: unknown container field(s) ${unknown.join(', ')}`);
      }
    }
    assertSecretRefs(doc, template.spec.imagePullSecrets);
  }
  if (doc.kind === 'ServiceAccount') assertSecretRefs(doc, doc.imagePullSecrets);
}

function assertSecretRefs(doc: any, refs: unknown): void {
  if (refs === undefined) return;
  if (!Array.isArray(refs)) throw new Error(`${doc.kind} ${doc.metadata?.name}: imagePullSecrets is not a list`);
  for (const r of refs) {
    if (!isObject(r) || Object.keys(r).join() !== 'name' || typeof r.name !== 'string') {
      throw new Error(`${doc.kind} ${doc.metadata?.name}: imagePullSecrets entry ${JSON.stringify(r)} must be exactly { name }`);
    }
  }
}

/** Every container/init container of every workload: its image, policy and where it is. */
export function containersOf(docs: any[]): Array<{ doc: any; container: any; list: string }> {
  const out: Array<{ doc: any; container: any; list: string }> = [];
  for (const doc of docs) {
    const template = findPodTemplate(doc);
    if (!template) continue;
    for (const list of ['containers', 'initContainers'] as const) {
      for (const container of (template.spec[list] as any[]) ?? []) out.push({ doc, container, list });
    }
  }
  return out;
}

/** The pod spec of a workload document. */
export function podSpec(doc: any): any {
  return findPodTemplate(doc)!.spec;
}
