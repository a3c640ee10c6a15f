import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KubepinUsageError } from '../util/errors';
import { safeText } from '../util/printable';
import { CliIo, Command, EXIT } from './io';
import { AppRunError, AppSource, appTimeoutMs, indent, run } from './lock-app';
import { chooseEngine, engineDescription, previewResources } from './lock-engine';
import { findProjectRoot } from './project-root';
import { DEFAULT_MANIFEST_DIR } from './manifest-input';
import { UnseenComponent, writeResourceManifests } from '../core/policy/pulumi-resources';

/*
 * `kubepin verify` and `kubepin check` in a Pulumi project with no PATH: the program has no
 * manifests, so it is run (through `pulumi preview` of the stack when a pulumi CLI is there, else
 * under mocks, as `kubepin lock` runs it, but not in collect mode: its ImagePolicy pins with the
 * lock) and the resources it registers are checked as manifests. A PATH (a provider's
 * `renderYamlToDirectory` output) is read as ever.
 */

/** Takes `--engine X`, `--stack X` (or `=X`) and `--mocks` out of `args`. */
function takePulumiFlags(args: readonly string[]): { rest: string[]; engine?: string; stack?: string; mocks?: boolean } {
  const rest: string[] = [];
  const out: { engine?: string; stack?: string; mocks?: boolean } = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const m = /^--(engine|stack)(?:=(.*))?$/.exec(arg);
    if (m) {
      const value = m[2] ?? args[++i];
      if (value === undefined || value === '') throw new KubepinUsageError(`--${m[1]} needs a value`);
      out[m[1] as 'engine' | 'stack'] = value;
    } else if (arg === '--mocks') out.mocks = true;
    else rest.push(arg);
  }
  return { rest, ...out };
}

/**
 * `command` that, in a Pulumi project given no PATH, checks the program's resources: written to a
 * temporary directory that is given to the command as its PATH. `hasPaths` reads the command's
 * own arguments. Components the run could not see fail it (exit 1), each named with the fix.
 */
export function withPulumiProgram(command: Command, hasPaths: (args: string[]) => boolean): Command {
  return {
    summary: command.summary,
    async run(args: string[], io: CliIo): Promise<number> {
      const taken = takePulumiFlags(args);
      const root = findProjectRoot(io.cwd);
      let paths = true;
      try {
        paths = hasPaths(taken.rest);
      } catch {
        // The command reports its own usage error.
      }
      const flagged = taken.engine !== undefined || taken.stack !== undefined || taken.mocks === true;
      // dist/ (where a provider's renderYamlToDirectory may write) is read as ever when it is there.
      const dist = fs.existsSync(path.join(io.cwd, DEFAULT_MANIFEST_DIR));
      if (taken.rest.includes('--help') || taken.rest.includes('-h') || paths || root?.kind !== 'pulumi' || (dist && !flagged)) {
        if (flagged && !taken.rest.includes('--help')) throw new KubepinUsageError('--engine, --stack and --mocks are for a Pulumi program given no PATH');
        return command.run(taken.rest, io);
      }
      const quiet = taken.rest.includes('--quiet') || taken.rest.includes('--json') || taken.rest.some((a) => /^--format(=|$)/.test(a));
      const app: AppSource = { kind: 'pulumi', dir: root.dir, description: 'the Pulumi program (Pulumi.yaml) under mocks' };
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubepin-program-'));
      try {
        const outdir = path.join(work, 'resources');
        const verbose = taken.rest.includes('--verbose');
        const engine = await chooseEngine(taken, app, io.env, (text) => {
          if (!quiet) io.stderr.write(safeText`note: ${text}\n`);
        }, (text) => {
          if (verbose) io.stderr.write(safeText`note: ${text}\n`);
        });
        let unseen: UnseenComponent[];
        if (engine) {
          const preview = await previewResources(app, engine, io.env, work);
          writeResourceManifests(preview.resources, outdir);
          unseen = preview.unseen;
        } else {
          unseen = await manifestsUnderMocks(app, outdir, path.join(work, 'unseen.json'), io.env);
        }
        if (!quiet) io.stderr.write(safeText`checking the resources of ${engine ? engineDescription(engine) : app.description}\n`);
        for (const u of unseen) io.stderr.write(safeText`error: ${u.type} "${u.name}": its children were not seen (${u.reason}), so their images are not checked. Fix: ${u.fix}\n`);
        const code = await command.run([...taken.rest, outdir], io);
        return code === EXIT.ok && unseen.length > 0 ? EXIT.findings : code;
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    },
  };
}

/** The child that writes a program's resources: argv = [module of writeProgramManifests, program dir, outdir, unseen file]. */
const RUNNER = `
const [modulePath, dir, outdir, unseenFile] = process.argv.slice(1);
require(modulePath).writeProgramManifests(dir, outdir, unseenFile).then(
  () => process.exit(0),
  (e) => { process.stderr.write(String(e && e.message ? e.message : e) + '\\n'); process.exit(1); },
);`;

async function manifestsUnderMocks(app: AppSource, outdir: string, unseenFile: string, env: NodeJS.ProcessEnv): Promise<UnseenComponent[]> {
  const hook = __filename.endsWith('.ts') ? ['-r', path.join(__dirname, '..', '..', 'scripts', 'ts-register.js')] : [];
  const args = [...hook, '-e', RUNNER, path.join(__dirname, '..', 'pulumi', 'program-manifests'), app.dir, outdir, unseenFile];
  const result = await run(process.execPath, args, { cwd: app.dir, env, shell: false }, appTimeoutMs(env));
  if (result.code !== 0 || result.timedOut || result.interrupted) {
    throw new AppRunError(`running ${app.description} to check its resources failed:\n${indent(result.output)}\nFix: make the program run (\`pulumi preview\` or its own tests show the same error), or give the directory of its renderYamlToDirectory output`);
  }
  return fs.existsSync(unseenFile) ? (JSON.parse(fs.readFileSync(unseenFile, 'utf8')) as UnseenComponent[]) : [];
}
