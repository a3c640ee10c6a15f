/**
 * Benchmark: generateCredentialProviderConfig (matchImages search) for an app with many images
 * across many registries, against the floor measured in the same process: assigning every image
 * to its provider once (parse each image, test it against every assigned registry key with the
 * kubelet matcher). Prints medians and their ratio; asserts nothing.
 *
 *   node -r ./scripts/ts-register.js scripts/bench-node.ts
 *
 * Environment: BENCH_IMAGES (default 1000), BENCH_RUNS (default 7).
 */
import { performance } from 'perf_hooks';
import { registryKeyMatches } from '../lib/core/credentials/keyring';
import { CredentialProviderSpec, generateCredentialProviderConfig, imageLookupName } from '../lib/node';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

const regions = ['eu-west-1', 'us-east-1', 'ap-south-1', 'eu-central-1'];
const images: string[] = [];
for (let i = 0; i < IMAGES; i++) {
  const hosts = [
    `${100000000000 + (i % 5)}.dkr.ecr.${regions[i % 4]}.amazonaws.com`,
    `acme${i % 9}.azurecr.io`,
    `registry${i % 3}.internal.example.com:5000`,
    'ghcr.io',
  ];
  images.push(`${hosts[i % 4]}/team${i % 17}/app${i}:1.${i}.0`);
}
const providers: CredentialProviderSpec[] = [
  { name: 'ecr', registries: ['*.dkr.ecr.*.amazonaws.com'] },
  { name: 'acr', registries: ['*.azurecr.io'] },
  { name: 'internal', registries: ['*.internal.example.com:5000'] },
];
const exclude = ['100000000000.dkr.ecr.sa-east-1.amazonaws.com', 'acmepublic.azurecr.io', 'registry9.internal.example.com:5000'];

function floor(): number {
  let hits = 0;
  const keys = providers.flatMap((p) => p.registries);
  for (const image of images) {
    const name = imageLookupName(image);
    for (const key of keys) if (registryKeyMatches(key, name)) hits++;
  }
  return hits;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const base: number[] = [];
const full: number[] = [];
let patterns = 0;
for (let r = 0; r < RUNS; r++) {
  let t = performance.now();
  floor();
  base.push(performance.now() - t);
  t = performance.now();
  const out = generateCredentialProviderConfig({ images, providers, exclude });
  full.push(performance.now() - t);
  patterns = out.config.providers.reduce((n, p) => n + p.matchImages.length, 0);
}
console.log(`images: ${IMAGES}, providers: ${providers.length}, matchImages written: ${patterns}`);
console.log(`floor (assign each image once):  median ${median(base).toFixed(1)} ms`);
console.log(`generateCredentialProviderConfig: median ${median(full).toFixed(1)} ms`);
console.log(`ratio: ${(median(full) / median(base)).toFixed(1)}×`);
