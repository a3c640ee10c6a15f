import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'yaml';
import { generateCredentialProviderConfig, readNodeCredentialSpec, validateCredentialProviderConfig } from '../../lib/node';

const DOC = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'node-credentials.md'), 'utf8');

/** The fenced block of `lang` that follows `after` in the doc. */
function blockAfter(after: string, lang: string): string {
  const start = DOC.indexOf(after);
  expect(start).toBeGreaterThan(-1);
  const open = DOC.indexOf(`\`\`\`${lang}\n`, start);
  return DOC.slice(open + lang.length + 4, DOC.indexOf('\n```', open + 1) + 1);
}

describe('docs/node-credentials.md', () => {
  it('shows exactly what kubepin generates for the example app', () => {
    const shown = blockAfter('For an app using', 'yaml');
    const out = generateCredentialProviderConfig({
      images: [
        '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:2.1.0',
        '123456789012.dkr.ecr.us-east-1.amazonaws.com/edge/proxy:1.0.0',
        'acmeprod.azurecr.io/obs/exporter:0.9.1',
        'acmestaging.azurecr.io/jobs/report:1.4.0',
      ],
      providers: [
        { name: 'ecr', registries: ['*.dkr.ecr.*.amazonaws.com'] },
        { name: 'acr', registries: ['*.azurecr.io'] },
      ],
      exclude: ['acmepublic.azurecr.io'],
    });
    expect(parse(shown)).toEqual(parse(out.yaml));
    expect(validateCredentialProviderConfig(parse(shown))).toEqual([]);
  });

  it('has a spec example that kubepin reads', () => {
    const text = DOC.slice(DOC.indexOf('# node-spec.yaml'), DOC.indexOf('```', DOC.indexOf('# node-spec.yaml')));
    const file = path.join(os.tmpdir(), `kubepin-doc-spec-${process.pid}.yaml`);
    fs.writeFileSync(file, text);
    try {
      const read = readNodeCredentialSpec(file);
      expect(read.credentialProviders?.map((p) => p.name)).toEqual(['ecr', 'acr']);
      expect(read.nodeDockerConfig?.auths?.[0].password).toEqual({ env: 'GHCR_TOKEN' });
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('has the table of the five credential paths', () => {
    const rows = DOC.split('\n').filter((l) => /^\| \*\*\d\. /.test(l));
    expect(rows.map((r) => r.match(/\*\*(\d\. [^*]+)\*\*/)![1])).toEqual([
      '1. Configuring nodes to authenticate to a private registry',
      '2. Kubelet credential provider plugins',
      '3. Pre-pulled images',
      '4. `imagePullSecrets` on pods',
      '5. Vendor-specific or local extensions',
    ]);
    // Each row: way, who can pull, who configures, costs, kubepin feature.
    for (const row of rows) expect(row.split(' | ').length).toBe(5);
  });
});
