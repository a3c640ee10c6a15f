import { PREPULL_LABEL } from '../../lib/prepull';
import { asKubernetesStores, canonicalQuantity, normalizeGeneratedNames } from './normalize';

// The engine parity test compares rendered YAML through these; they must change nothing else.
describe('parity normalization', () => {
  test('quantities take resource.Quantity\'s canonical form, keeping binary or decimal', () => {
    const written = ['2048Mi', '1000m', '1', '1500m', '1500Mi', '2Gi', '0.5', '1.5Gi', '2000', '100m', '1024', '3000000m', 'lots'];
    expect(written.map(canonicalQuantity)).toEqual(['2Gi', '1', '1', '1500m', '1500Mi', '2Gi', '500m', '1536Mi', '2k', '100m', '1024', '3k', 'lots']);
  });

  test('only listed zero-valued fields are dropped, and quantities only under limits and requests', () => {
    const object = {
      spec: { minReadySeconds: 0, replicas: 0, template: { spec: { hostNetwork: false, automountServiceAccountToken: false, containers: [{ resources: { limits: { memory: '2048Mi' } }, env: [{ name: 'X', value: '1000m' }] }] } } },
    };
    expect(asKubernetesStores(object)).toEqual({
      spec: { replicas: 0, template: { spec: { automountServiceAccountToken: false, containers: [{ resources: { limits: { memory: '2Gi' } }, env: [{ name: 'X', value: '1000m' }] }] } } },
    });
    expect(asKubernetesStores({ spec: { minReadySeconds: 5, hostNetwork: true, externalIPs: ['10.0.0.1'] } })).toEqual({ spec: { minReadySeconds: 5, hostNetwork: true, externalIPs: ['10.0.0.1'] } });
  });

  test('a generated name shared by two kinds gets one reference token whatever the order', () => {
    const objects = (order: string[]) => order.map((kind) => ({ kind, metadata: { name: 'shop-prepull', labels: { [PREPULL_LABEL]: 'true', instance: 'shop-prepull' } } }));
    const a = normalizeGeneratedNames(objects(['ServiceAccount', 'DaemonSet'])).objects;
    const b = normalizeGeneratedNames(objects(['DaemonSet', 'ServiceAccount'])).objects;
    expect(a).toEqual(b);
    expect(new Set(a.map((o) => (o.metadata as { labels: { instance: string } }).labels.instance))).toEqual(new Set(['<generated:DaemonSet:prepull>']));
  });
});
