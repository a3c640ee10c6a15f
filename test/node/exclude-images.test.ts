import { generateCredentialProviderConfig } from '../../lib/node/credential-provider-generate';

describe('item 16: node-config --exclude leaves an app image in the excluded registry to no provider, and says so', () => {
  test('a public mirror under an assigned glob: generation succeeds, the image is not served, a warning names it', () => {
    const generated = generateCredentialProviderConfig({
      images: ['acmeprod.azurecr.io/obs/exporter:1', 'acmepublic.azurecr.io/base/nginx:1', 'acmestaging.azurecr.io/jobs/report:2'],
      providers: [{ name: 'acr', registries: ['*.azurecr.io'] }],
      exclude: ['acmepublic.azurecr.io'],
    });
    expect(generated.config.providers[0].matchImages).toEqual(['acmeprod.azurecr.io', 'acmestaging.azurecr.io']);
    expect(generated.covered['acr-credential-provider']).not.toContain('acmepublic.azurecr.io/base/nginx');
    expect(generated.notCovered).toEqual(['acmepublic.azurecr.io/base/nginx']);
    expect(generated.problems).toContainEqual(expect.objectContaining({ severity: 'warning', path: 'exclude', message: expect.stringMatching(/acmepublic\.azurecr\.io\/base\/nginx is in an excluded registry/) }));
  });
});
