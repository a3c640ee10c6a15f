import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { CliIo, Command, EXIT } from './io';
import { parseFlags } from './options';
import { OUTPUT_FLAGS, outputFlagsHelp, outputMode } from './output-flags';
import { KubepinError, KubepinUsageError } from '../util/errors';
import { CONFIG_FILE_NAME, loadProjectConfig } from '../core/config/project-config';
import { readRegularFile } from '../util/fs/read-regular-file';
import { printable } from '../util/printable';
import { writeFileAtomic } from '../util/fs/write-file-atomic';

const HELP = `Usage: kubepin trust update [options]

Refresh a pinned Sigstore trusted_root.json (what keyless signatures and log entries are verified
with, offline) from Sigstore's TUF repository. The TUF metadata is verified from the root embedded
in @sigstore/tuf (or --tuf-root) before the file is written; the file is checked to be a usable
trusted root. Commit the result and review its diff like code (docs/signatures.md).

Options:
  -o, --output FILE            the trusted_root.json to write (default: "signatures.trustedRoot" of
                               ./${CONFIG_FILE_NAME}, relative to it)
  --check                      write nothing; exit 1 when the file differs from the repository's
  --mirror URL                 the TUF repository (default: $KUBEPIN_SIGSTORE_TUF_MIRROR, else
                               https://tuf-repo-cdn.sigstore.dev)
  --tuf-root FILE              the trusted TUF root.json of a mirror other than Sigstore's
                               (default: $KUBEPIN_SIGSTORE_TUF_ROOT)
  --cache DIR                  the TUF cache (default: $KUBEPIN_SIGSTORE_TUF_CACHE, else @sigstore/tuf's)
${outputFlagsHelp(['text', 'json'])}
  -h, --help                   show this help

Exit code: 0 written or current, 1 the repository could not be read (or --check found a
difference), 2 bad usage.
`;

const FLAGS = {
  ...OUTPUT_FLAGS,
  output: { type: 'string', short: 'o' },
  check: { type: 'boolean' },
  mirror: { type: 'string' },
  'tuf-root': { type: 'string' },
  cache: { type: 'string' },
} as const;

/** The trusted root could not be fetched, verified or written. */
export class TrustUpdateError extends KubepinError {}

export const trustCommand: Command = {
  summary: "refresh a pinned Sigstore trusted_root.json over TUF (trust update)",
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === '--help' || sub === '-h' || sub === undefined) {
      io.stdout.write(HELP);
      return sub === undefined ? EXIT.usage : EXIT.ok;
    }
    if (sub !== 'update') throw new KubepinUsageError(`unknown subcommand "${printable(sub)}"; the one subcommand is "update"`);
    const { values, positionals } = parseFlags(rest, FLAGS);
    if (values.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw new KubepinUsageError(`unexpected argument "${printable(positionals[0])}"`);
    const mode = outputMode(values, ['text', 'json']);
    const output = values.output ? path.resolve(io.cwd, values.output) : configuredRoot(io.cwd);
    const display = path.relative(io.cwd, output) || output;
    const resolve = (p: string | undefined) => (p === undefined ? undefined : path.resolve(io.cwd, p));
    const { fetchTrustedRootOverTuf, tufOptions } = require('../signatures/public-good') as typeof import('../signatures/public-good');
    const source = { mirrorURL: values.mirror, rootPath: resolve(values['tuf-root']), cachePath: resolve(values.cache) };
    const mirror = tufOptions(source).mirrorURL ?? 'https://tuf-repo-cdn.sigstore.dev';
    let text: string;
    try {
      text = await fetchTrustedRootOverTuf(source);
    } catch (e) {
      throw new TrustUpdateError(`cannot read trusted_root.json from the TUF repository ${mirror}: ${String((e as Error)?.message ?? e).split('\n')[0].slice(0, 300)}. Fix: check the network (or --mirror), and --tuf-root for a mirror other than Sigstore's; ${display} was not changed`);
    }
    const { parseTrustedRoot } = require('../signatures/trusted-root') as typeof import('../signatures/trusted-root');
    try {
      parseTrustedRoot(text, mirror);
    } catch (e) {
      throw new TrustUpdateError(`the TUF repository ${mirror} serves a trusted_root.json kubepin cannot use (${String((e as Error).message).slice(0, 200)}); ${display} was not changed`);
    }
    const before = readRegularFile(output, 16 * 1024 * 1024);
    const previous = typeof before === 'string' ? before : undefined;
    const sha = (t: string) => `sha256:${createHash('sha256').update(t).digest('hex')}`;
    const changed = previous !== text;
    if (!values.check && changed) {
      fs.mkdirSync(path.dirname(output), { recursive: true });
      writeFileAtomic(output, text);
    }
    const report = { file: display, mirror, changed, written: !values.check && changed, sha256: sha(text), ...(previous !== undefined ? { previous: sha(previous) } : {}) };
    if (mode.format === 'json') {
      io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else if (!mode.quiet || (values.check && changed)) {
      const what = !changed ? `${display} is current (${report.sha256})` : values.check ? `${display} differs from ${mirror}'s trusted_root.json (${report.sha256}); run \`kubepin trust update\` to write it` : `${display} ${previous === undefined ? 'written' : 'updated'} from ${mirror} (${report.sha256}${previous !== undefined ? `, was ${report.previous}` : ''}); review and commit the diff`;
      io.stdout.write(`${what}\n`);
    }
    return values.check && changed ? EXIT.findings : EXIT.ok;
  },
};

/** `signatures.trustedRoot` of the working directory's configuration, resolved beside it. */
function configuredRoot(cwd: string): string {
  const config = loadProjectConfig(path.join(cwd, CONFIG_FILE_NAME));
  const signatures = config?.data.signatures as Record<string, unknown> | undefined;
  const file = signatures && typeof signatures === 'object' ? signatures.trustedRoot : undefined;
  if (typeof file !== 'string' || file === '') {
    throw new KubepinUsageError(`say where to write the trusted root: -o FILE, or "signatures": { "trustedRoot": "<file>" } in ./${CONFIG_FILE_NAME}`);
  }
  return path.resolve(config!.dir, file);
}
