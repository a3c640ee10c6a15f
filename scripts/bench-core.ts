/**
 * Benchmark: applyImagePolicy over 5,000 Deployments × 3 containers, against structuredClone
 * of the same objects in the same process (the floor: the policy must at least copy them).
 *
 *   node -r ./scripts/ts-register.js scripts/bench-core.ts
 */
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { ImageLock, applyImagePolicy } from '../lib';

const DEPLOYMENTS = Number(process.env.BENCH_DEPLOYMENTS ?? 5000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const INDEX = 'application/vnd.oci.image.index.v1+json';

const lock = ImageLock.empty(path.join(os.tmpdir(), 'bench.lock.json'));
const images: string[] = [];
for (let i = 0; i < 300; i++) {
  const image = `registry${i % 7}.example.com/team${i % 13}/app${i}:1.${i}.0`;
  images.push(image);
  lock.set(image, { digest: `sha256:${createHash('sha256').update(image).digest('hex')}`, mediaType: INDEX });
}

const objects = Array.from({ length: DEPLOYMENTS }, (_, i) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: `app-${i}`, namespace: `ns-${i % 20}`, labels: { app: `app-${i}` } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: `app-${i}` } },
    template: {
      metadata: { labels: { app: `app-${i}` } },
      spec: {
        containers: [0, 1, 2].map((c) => ({
          name: `c${c}`,
          image: images[(i * 3 + c) % images.length],
          ports: [{ containerPort: 8080 + c }],
          resources: { requests: { cpu: '100m', memory: '128Mi' } },
          env: [{ name: 'MODE', value: 'prod' }],
        })),
      },
    },
  },
}));

const pullSecrets = [0, 1, 2, 3, 4, 5, 6].map((i) => ({ name: `pull-${i}`, registries: [`registry${i}.example.com`] }));

function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const clone: number[] = [];
const policy: number[] = [];
let findings = 0;
for (let run = 0; run < RUNS; run++) {
  // Alternate so warm-up and GC pressure hit both sides alike.
  clone.push(time(() => structuredClone(objects)));
  policy.push(time(() => {
    findings = applyImagePolicy(objects, { lock, pullSecrets, strict: true }).findings.length;
  }));
}
const c = median(clone);
const p = median(policy);
console.log(`bench-core: ${DEPLOYMENTS} Deployments × 3 containers, ${RUNS} runs, node ${process.version}, ${os.cpus().length} cpus`);
console.log(`  structuredClone   median ${c.toFixed(1)} ms`);
console.log(`  applyImagePolicy  median ${p.toFixed(1)} ms  (${findings} findings)`);
console.log(`  ratio policy/clone: ${(p / c).toFixed(2)}x  (target ≤ 5x)`);
