import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packedKubepin } from '../support/packed';

/*
 * The typed workloads' declarations as users get them (the packed .d.ts, not lib/'s sources):
 * a consumer per cdk8s-plus major compiles under node10 (`module: CommonJS`, as `cdk8s init`
 * writes; typesVersions) and nodenext (exports; a CommonJS and an ES module file), with every
 * library's declarations checked. The `@ts-expect-error` lines fail the compile when the line
 * type-checks after all, so a declaration that degraded into `any`, or lost its major's prop
 * types, fails here.
 */
const REPO = path.resolve(__dirname, '..', '..');
const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const repoPackage = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
const MAJORS = Object.keys(repoPackage.exports as Record<string, unknown>)
  .map((key) => /^\.\/cdk8s-plus-(\d+)$/.exec(key))
  .filter((m): m is RegExpExecArray => m !== null)
  .map((m) => Number(m[1]));

/** What one major's typed workloads must accept and refuse; `other` is another major, whose classes are not this one's. */
function majorChecks(major: number, other: number): string {
  const t = `t${major}`;
  const k = `k${major}`;
  // Props cdk8s-plus added in later majors: the typed props follow the major's own.
  const restartPolicy = `${major < 28 ? '  // @ts-expect-error cdk8s-plus before 28 has no container restartPolicy\n' : ''}  new ${t}.Deployment(chart, 'rp', { containers: [{ image: Image.of('busybox:1'), restartPolicy: undefined }] });`;
  const revisionHistoryLimit = `${major < 31 ? '  // @ts-expect-error cdk8s-plus before 31 has no Deployment revisionHistoryLimit\n' : ''}  new ${t}.Deployment(chart, 'rh', { revisionHistoryLimit: 3 });`;
  return `
export function plus${major}(chart: Chart): void {
  const container: NotAny<${t}.ContainerProps> = { image: Image.of('nginx:1.27.5'), portNumber: 80, pullPolicy: PullPolicy.IfNotPresent };
  const prePull: NotAny<${t}.PrePullProps> = { namespace: 'ops' };
  const pod: NotAny<${t}.TypedPodProps> = { containers: [container], pullSecrets: [], prePull };
  const d: NotAny<${t}.Deployment> = new ${t}.Deployment(chart, 'd', { ...pod, replicas: 2 } satisfies ${t}.DeploymentProps);
  const asPlus: ${k}.Deployment = d;
  const added: ${k}.Container = d.addContainer({ name: 'side', image: Image.of('busybox:1.36.1') });
  d.addInitContainer({ name: 'plain', image: 'busybox:1.36.1' }); // cdk8s-plus's own props still work
  const s: ${k}.StatefulSet = new ${t}.StatefulSet(chart, 's', { containers: [container] } satisfies ${t}.StatefulSetProps);
  const p: ${k}.Pod = new ${t}.Pod(chart, 'p', { containers: [container], pullPolicy: PullPolicy.Always } satisfies ${t}.PodProps);
  const label: string = ${t}.Pod.ADDRESS_LABEL; // statics of the cdk8s-plus class
  new ${t}.Deployment(chart, 'none');
  void [asPlus, added, s, p, label];
  // @ts-expect-error a typed container takes an Image, not a string
  new ${t}.Deployment(chart, 'e1', { containers: [{ image: 'nginx:1.27.5' }] });
  // @ts-expect-error the container's cdk8s-plus props are still typed
  new ${t}.Deployment(chart, 'e2', { containers: [{ image: Image.of('nginx:1.27.5'), portNumber: '80' }] });
  // @ts-expect-error the workload's cdk8s-plus props are still typed
  new ${t}.StatefulSet(chart, 'e3', { replicas: 'two' });
  // @ts-expect-error no such prop
  new ${t}.Pod(chart, 'e4', { prepull: true });
  // @ts-expect-error pullPolicy is a PullPolicy
  new ${t}.Pod(chart, 'e5', { pullPolicy: 'Sometimes' });
  // @ts-expect-error addContainer takes a container
  d.addContainer({ image: 42 });
  // @ts-expect-error a cdk8s-plus-${major} Deployment is not a cdk8s-plus-${other} one
  const wrong: k${other}.Deployment = d;
  void wrong;
${restartPolicy}
${revisionHistoryLimit}
}
`;
}

function consumer(): string {
  const imports = MAJORS.map((m) => `import * as k${m} from 'cdk8s-plus-${m}';\nimport * as t${m} from 'kubepin/cdk8s-plus-${m}';`).join('\n');
  const first = MAJORS[0];
  const last = MAJORS[MAJORS.length - 1];
  return `import { Chart } from 'cdk8s';
import * as cdk8s from 'kubepin/cdk8s';
import { Image, PullPolicy } from 'kubepin/cdk8s';
${imports}

/** Fails to compile where T is \`any\`. */
type NotAny<T> = 0 extends 1 & T ? never : T;
${MAJORS.map((m, i) => majorChecks(m, MAJORS[(i + 1) % MAJORS.length])).join('')}
/** kubepin/cdk8s: cdk8s-plus-27's typed workloads. */
export function face(chart: Chart): void {
  const d: k27.Deployment = new cdk8s.Deployment(chart, 'd', { containers: [{ image: Image.of('nginx:1.27.5') }] } satisfies cdk8s.DeploymentProps);
  const same: t27.Deployment = d as NotAny<cdk8s.Deployment>;
  void same;
  // @ts-expect-error a typed container takes an Image, not a string
  new cdk8s.Pod(chart, 'e', { containers: [{ image: 'nginx:1.27.5' }] });
}

/** One helper for workloads of two majors: each class has one addContainer signature, so the union is callable. */
export function either(w: t${first}.Deployment | t${last}.StatefulSet): void {
  w.addContainer({ name: 'side', image: Image.of('busybox:1.36.1') });
}
`;
}

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-dts-'));
  const modules = path.join(work, 'node_modules');
  fs.mkdirSync(path.join(modules, '@types'), { recursive: true });
  // kubepin as packed (its own imports resolve beside it, in the packed project); the consumer's other packages from the repository.
  fs.symlinkSync(packedKubepin().dir, path.join(modules, 'kubepin'));
  for (const name of ['cdk8s', 'constructs', '@types/node', ...MAJORS.map((m) => `cdk8s-plus-${m}`)]) fs.symlinkSync(path.join(REPO, 'node_modules', name), path.join(modules, name));
  const source = consumer();
  fs.writeFileSync(path.join(work, 'consumer.ts'), source);
  fs.writeFileSync(path.join(work, 'consumer.mts'), source);
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the typed majors the package exports include 25, 27 and 33', () => {
  expect(MAJORS).toEqual(expect.arrayContaining([25, 27, 33]));
});

test.each([
  ['node10 (module CommonJS, as cdk8s init writes)', { module: 'CommonJS' }, ['consumer.ts']],
  ['nodenext, CommonJS and ES module consumers', { module: 'nodenext' }, ['consumer.ts', 'consumer.mts']],
])('%s: the typed workloads of every major keep their props, classes and statics', (_mode, options, files) => {
  const tsconfig = { compilerOptions: { ...options, target: 'ES2022', lib: ['ES2022'], types: ['node'], strict: true, noEmit: true, skipLibCheck: false }, files };
  fs.writeFileSync(path.join(work, 'tsconfig.json'), JSON.stringify(tsconfig));
  const result = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: work, encoding: 'utf8', timeout: 240000 });
  expect(`${result.stdout}${result.stderr}${result.error ?? ''}`.trim()).toBe('');
  expect(result.status).toBe(0);
}, 300000);
