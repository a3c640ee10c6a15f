import { runProgram, snapshotYaml } from './harness';

describe('examples/pulumi under setMocks', () => {
  test('registers every resource with pinned inputs (YAML snapshot, reviewed)', async () => {
    const { resources, logs } = await runProgram((context) => context.loadProgram(require.resolve('../../examples/pulumi/index')));
    expect(resources.map((r) => `${r.type} ${r.name}`)).toEqual(expect.arrayContaining([
      'kubepin:index:RegistryPullSecret dockerhub',
      'kubepin:index:Deployment web',
      'kubepin:index:PrePullDaemonSet web-prepull',
      'kubernetes:apps/v1:DaemonSet web-prepull',
      'kubepin:index:StatefulSet db',
      'kubernetes:batch/v1:Job migrate',
      'kubernetes:yaml:ConfigFile redis-cache',
      // ConfigFile names its children by namespace/name.
      'kubernetes:apps/v1:Deployment shop/redis-cache',
    ]));
    // The only notes are the pre-puller's reminder that pre-pulled private images are shared.
    expect(logs.every((l) => l.startsWith('info: kubepin: kubepin:index:PrePullDaemonSet "web-prepull": info prepull-private-image'))).toBe(true);
    expect(snapshotYaml(resources)).toMatchSnapshot();
  });
});
