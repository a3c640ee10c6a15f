import { App, AppProps, Testing } from 'cdk8s';
import { ImageLocations } from '../core/objects/image-locations';
import { JsonObject, findPodTemplates, isObject } from '../core/objects/pod-templates';
import { defaultLockFile } from './lock-file';
import { ImagePolicy, ImagePolicyProps } from './image-policy';

/**
 * Testing a cdk8s app with kubepin (`import … from 'kubepin/cdk8s/testing'`): the policy applies
 * in a test exactly as in `cdk8s synth`, and snapshots stay free of digests.
 *
 * ```ts
 * import { snapshotSerializer, testApp, unpinnedImages } from 'kubepin/cdk8s/testing';
 * expect.addSnapshotSerializer(snapshotSerializer);
 * const chart = new MyChart(testApp(imagePolicyProps), 'test-chart');
 * const manifests = Testing.synth(chart); // validates the app first, as cdk8s synth does
 * expect(unpinnedImages(manifests)).toEqual([]);
 * expect(manifests).toMatchSnapshot();
 * ```
 */

/**
 * `Testing.app()` with the `ImagePolicy` main.ts has: pass it the same props (export them from
 * main.ts, or a module both import), so every workload, plain cdk8s-plus and `Kube*` objects
 * included, is pinned from the project's kubepin.lock.json as at synth.
 * @param policy the props main.ts gives its ImagePolicy @default {} (the lock next to cdk8s.yaml)
 * @param props the app's props, as `Testing.app(props)` takes them @default a temporary outdir
 */
export function testApp(policy: ImagePolicyProps = {}, props?: AppProps): App {
  const app = Testing.app(props);
  new ImagePolicy(app, 'ImagePolicy', policy);
  return app;
}

const DIGEST = /@sha256:[0-9a-f]{64}/g;
/** What a digest becomes in a snapshot. */
export const DIGEST_PLACEHOLDER = '@sha256:<digest>';

/** A copy of `value` with every `@sha256:<64 hex>` in its strings replaced by {@link DIGEST_PLACEHOLDER}. */
export function withoutDigests<T>(value: T): T {
  if (typeof value === 'string') return value.replace(DIGEST, DIGEST_PLACEHOLDER) as T;
  if (Array.isArray(value)) return value.map((v) => withoutDigests(v)) as T;
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutDigests(v)])) as T;
  return value;
}

/**
 * A jest snapshot serializer (`expect.addSnapshotSerializer(snapshotSerializer)`, or
 * `snapshotSerializers` in jest.config.js) writing every digest as `@sha256:<digest>`: a lock
 * update changes no snapshot, while a tag change, an unpinned image (no `@sha256:` at all) or a
 * pull-policy change still does.
 */
export const snapshotSerializer = {
  test: (value: unknown): boolean => typeof value === 'string' && /@sha256:[0-9a-f]{64}/.test(value),
  serialize: (value: string, config: unknown, indentation: string, depth: number, refs: unknown, printer: (v: unknown, ...rest: unknown[]) => string): string =>
    printer(value.replace(DIGEST, DIGEST_PLACEHOLDER), config, indentation, depth, refs),
};

/**
 * Every image in `manifests` without a digest, as `Kind/name path: image` (empty when all are
 * pinned), in the kinds kubepin knows and those the project's kubepin.config.json adds: for
 * `expect(unpinnedImages(manifests)).toEqual([])`.
 * @param locations where images are found @default the project's (kubepin.config.json beside the lock next to cdk8s.yaml)
 */
export function unpinnedImages(manifests: readonly unknown[], locations?: ImageLocations): string[] {
  const where = locations ?? ImageLocations.forLockFile(defaultLockFile());
  const out: string[] = [];
  for (const object of manifests) {
    if (!isObject(object)) continue;
    const metadata = isObject(object.metadata) ? object.metadata as JsonObject : {};
    for (const template of findPodTemplates(structuredClone(object) as JsonObject, where)) {
      for (const site of template.sites) {
        if (!/@sha256:[0-9a-f]{64}$/.test(site.image)) out.push(`${String(object.kind)}/${String(metadata.name ?? '')} ${site.path}: ${site.image}`);
      }
    }
  }
  return out;
}
