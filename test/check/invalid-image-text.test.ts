import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkManifests, formatText } from '../../lib/check';
import { runCli } from './support';

// Images from public manifests (knative/serving, tektoncd/pipeline, argo-cd, argo-workflows, cert-manager,
// knative/docs, kubernetes/examples, opentelemetry-operator) and plain typos, one container each.
const IMAGES = [
  'ko://knative.dev/serving/cmd/activator',
  'quay.io/argoprojlabs/argocd-e2e-container:{{.Values.image.tag}}',
  '{{inputs.parameters.image}}:{{inputs.parameters.tag}}',
  '$(params.BUILDER_IMAGE)',
  '${IMAGE}',
  '$(IMAGE)',
  '{IMAGE}',
  '<YOUR-CONTAINER>',
  'docker.io/{username}/helloworld-go',
  '($APP_IMAGE)',
  'Nginx:1.27',
  'alpine:invalid!',
  'foo.com:http/bar',
  'a/a/a/a/',
  'nginx@sha256:abcd',
];

/** Substituted by the workload's controller before any pod exists: a warning, not a predicted InvalidImageName. */
const RUN_TIME = ['{{inputs.parameters.image}}:{{inputs.parameters.tag}}', '$(params.BUILDER_IMAGE)', '($APP_IMAGE)'];
const INVALID = IMAGES.filter((image) => !RUN_TIME.includes(image));

function deployment(images: readonly string[]): string {
  const containers = images.map((image, i) => `      - name: c${i}\n        image: ${JSON.stringify(image)}\n`).join('');
  return `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n${containers}`;
}

/** The text report's lines for each finding: from its "✗ error" line to the next finding or group. */
function blocks(text: string): string[][] {
  const out: string[][] = [];
  for (const line of text.split('\n')) {
    if (/^ {2}[✗!i] /.test(line)) out.push([line]);
    else if (/^ {6}/.test(line) && out.length > 0) out[out.length - 1].push(line.trim());
  }
  return out;
}

describe('invalid-image in the text report', () => {
  test('the fix line holds only the fix, after the consequence, for every kind of invalid image', () => {
    const objects = [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { spec: { containers: IMAGES.map((image, i) => ({ name: `c${i}`, image })) } } } }];
    const findings = checkManifests(objects).findings.filter((f) => f.code === 'invalid-image');
    expect(findings.map((f) => f.image)).toEqual(INVALID);
    for (const [i, block] of blocks(formatText(findings)).entries()) {
      const image = INVALID[i];
      expect(block[0]).toContain(`invalid-image (spec.template.spec.containers[${IMAGES.indexOf(image)}].image)`);
      expect(block[1]).toBe(`image:     ${JSON.stringify(image)}`);
      expect(block[2]).toBe('predicted: InvalidImageName');
      expect(block[3]).toMatch(/^invalid image reference .*\. (Left as written, the|The) kubelet reports InvalidImageName and never starts the container$/);
      expect(block[4]).toMatch(/^fix: \S/);
      expect(block[4]).not.toMatch(/kubelet|InvalidImageName/);
      expect(block).toHaveLength(5);
    }
  });

  test('parameters a controller substitutes at run time (Argo, Tekton, Chainsaw) are warnings with no predicted kubelet state', () => {
    const objects = [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: RUN_TIME.map((image, i) => ({ name: `c${i}`, image })) } }];
    const findings = checkManifests(objects).findings;
    expect(findings.map((f) => `${f.severity} ${f.code} ${f.image} ${f.state ?? 'no state'}`)).toEqual(RUN_TIME.map((image) => `warning run-time-image-parameter ${image} no state`));
    for (const f of findings) expect(f.message).toMatch(/kubepin cannot pin or check an image chosen at run time\. Fix: \S/);
  });

  test('placeholders read as placeholders, typos as typos', () => {
    const objects = [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: IMAGES.map((image, i) => ({ name: `c${i}`, image })) } }];
    const messages = new Map(checkManifests(objects).findings.map((f) => [f.image, f.message]));
    expect(messages.get('ko://knative.dev/serving/cmd/activator')).toBe('invalid image reference "ko://knative.dev/serving/cmd/activator": it is a ko import path (Go package "knative.dev/serving/cmd/activator"), not a registry reference: `ko resolve` and `ko apply` build the package, push it and write the image reference in its place. Left as written, the kubelet reports InvalidImageName and never starts the container. Fix: run `ko resolve -f <file>` (or `ko apply -f <file>`) first and check its output');
    expect(messages.get('{IMAGE}')).toBe('invalid image reference "{IMAGE}": "{IMAGE}" is an unfilled brace placeholder. Left as written, the kubelet reports InvalidImageName and never starts the container. Fix: replace "{IMAGE}" with the value it stands for, or run the script that fills it in');
    expect(messages.get('Nginx:1.27')).toBe('invalid image reference "Nginx:1.27": repository name "library/Nginx" must be lowercase. The kubelet reports InvalidImageName and never starts the container. Fix: use "nginx:1.27"');
    expect(messages.get('alpine:invalid!')).toMatch(/may hold only letters.*\. The kubelet reports InvalidImageName and never starts the container\. Fix: write a tag of letters/);
  });

  test('kubepin check on a file: file and line per placeholder, and the tool that renders it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-placeholders-'));
    try {
      const file = path.join(dir, 'deployment.yaml');
      fs.writeFileSync(file, deployment(IMAGES.slice(0, 10)));
      const run = await runCli(['check', file]);
      const shown = path.relative(process.cwd(), file);
      expect(run.code).toBe(1);
      const found = blocks(run.stdout);
      expect(found).toHaveLength(10);
      // The first container's image is on line 10; each container takes two lines.
      found.forEach((block, i) => expect(block[0]).toContain(`(spec.template.spec.containers[${i}].image, line ${10 + 2 * i})`));
      const fixes = found.map((block) => block.find((l) => l.startsWith('fix: ')));
      expect(fixes).toEqual([
        `fix: run \`ko resolve -f ${shown}\` (or \`ko apply -f ${shown}\`) first and check its output`,
        expect.stringContaining('helm template'),
        expect.stringContaining('argo submit -p'),
        expect.stringContaining('the pipeline substitutes it at run time'),
        `fix: render the file first, e.g. \`IMAGE=… envsubst < ${shown}\`, or run the script that fills it`,
        expect.stringContaining('substitute IMAGE before applying'),
        expect.stringContaining('replace "{IMAGE}"'),
        expect.stringContaining('replace it with the image to run'),
        expect.stringContaining('replace "{username}"'),
        expect.stringContaining('chainsaw substitutes it at run time'),
      ]);
      expect(run.stdout).not.toMatch(/must be lowercase|may hold only|is not a valid host/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
