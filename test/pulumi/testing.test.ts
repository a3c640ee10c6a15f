import * as path from 'path';
import { programEntry, runProgramUnderMocks } from '../../lib/pulumi/testing';

/* kubepin/pulumi/testing, as a user's own test calls it: a program directory run under mocks. */
const PROGRAM = path.join(__dirname, 'fixtures', 'program');

describe('runProgramUnderMocks', () => {
  test('runs the program of a directory with its only stack\'s plain config; secret inputs are marked', async () => {
    // `secure` values cannot be decrypted under mocks: they are given in options.config.
    const { resources } = await runProgramUnderMocks(PROGRAM, { config: { password: 'hunter2' } });
    const deployment = resources.find((r) => r.type === 'kubernetes:apps/v1:Deployment')!;
    expect(deployment.name).toBe('web');
    expect(deployment.inputs.spec.replicas).toBe(2);
    expect(deployment.inputs.spec.template.spec.containers[0].image).toBe('registry.example/team/web:1.0');
    expect(deployment.secretPaths).toEqual([]);
    const secret = resources.find((r) => r.type === 'kubernetes:core/v1:Secret')!;
    expect(secret.inputs.stringData.password).toBe('hunter2');
    expect(secret.secretPaths).toEqual(['stringData']);
    expect(resources.map((r) => r.type)).toContain('pulumi:pulumi:Stack');
  });

  test('a missing config value fails with the program\'s own error; the entry follows package.json main', async () => {
    await expect(runProgramUnderMocks(PROGRAM)).rejects.toThrow(/password/);
    expect(programEntry(PROGRAM)).toMatchObject({ file: path.join(PROGRAM, 'program.js'), project: 'fixture', typescript: false });
  });
});
