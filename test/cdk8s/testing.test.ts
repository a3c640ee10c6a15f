import { ApiObject, Chart, Testing } from 'cdk8s';
import * as plus from 'cdk8s-plus-33';
import { testApp, unpinnedImages, withoutDigests } from '../../lib/cdk8s/testing';
import { publicDigest, publicLock } from '../prepull/fixtures';

// kubepin/cdk8s/testing in-process; test/package/packed.test.ts runs it in a template project from the tarball.
describe('kubepin/cdk8s/testing', () => {
  function chartWith(policy: Record<string, unknown>): Chart {
    const chart = new Chart(testApp({ lock: publicLock(), ...policy }), 'c');
    new plus.Deployment(chart, 'web', { containers: [{ image: 'nginx:1.27.5' }] });
    new ApiObject(chart, 'raw', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'raw' }, spec: { containers: [{ name: 'a', image: 'ghcr.io/acme/unlocked:1' }] } });
    return chart;
  }

  test('testApp pins plain cdk8s-plus and ApiObject workloads; unpinnedImages names what the lock lacks', () => {
    const manifests = Testing.synth(chartWith({}));
    const web = manifests.find((m) => m.kind === 'Deployment');
    expect(web.spec.template.spec.containers[0].image).toBe(`docker.io/library/nginx:1.27.5@${publicDigest('docker.io/library/nginx:1.27.5')}`);
    expect(unpinnedImages(manifests)).toEqual(['Pod/raw spec.containers[0].image: ghcr.io/acme/unlocked:1']);
  });

  test('withoutDigests replaces each digest and nothing else', () => {
    const digest = publicDigest('docker.io/library/nginx:1.27.5');
    expect(withoutDigests({ a: [`nginx:1.27.5@${digest}`, 'sha256:x', 3] })).toEqual({ a: ['nginx:1.27.5@sha256:<digest>', 'sha256:x', 3] });
  });

  test('Testing.synth of a testApp chart fails as cdk8s synth does on a validation error of the policy', () => {
    expect(() => Testing.synth(chartWith({ pullPolicy: 'Sometimes' }))).toThrow(/\[ImagePolicy\] pullPolicy "Sometimes" is not one of Always, IfNotPresent, Never/);
  });
});
