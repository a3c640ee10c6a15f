import { KubepinUsageError } from '../util/errors';
import { choiceFlag } from './options';

/** An output format: text for people, JSON for tools, SARIF for code scanning (`check`). */
export type OutputFormat = 'text' | 'json' | 'sarif';

/** The output flags every command has: `--format`, its alias `--json`, `--quiet`, `--verbose`. */
export const OUTPUT_FLAGS = {
  format: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean' },
} as const;

/** Help lines of {@link OUTPUT_FLAGS} for a command with `formats`. */
export function outputFlagsHelp(formats: readonly OutputFormat[]): string {
  return [
    `  --format ${formats.join('|').padEnd(19)} output format (default text${formats.includes('sarif') ? '; SARIF 2.1.0 for code scanning' : ''})`,
    '  --json                       the same as --format json: machine-readable output on stdout',
    '  -q, --quiet                  print errors only (no notes, warnings or summary on success)',
    '  --verbose                    also print progress and what was read, on stderr',
  ].join('\n');
}

/** The values of {@link OUTPUT_FLAGS}. */
export interface OutputFlagValues {
  readonly format?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly verbose?: boolean;
}

/** How a command writes: the format, and how much besides. */
export interface OutputMode {
  readonly format: OutputFormat;
  readonly quiet: boolean;
  readonly verbose: boolean;
}

/** The output mode the flags ask for. @throws KubepinUsageError for a format the command lacks or contradicting flags */
export function outputMode(values: OutputFlagValues, formats: readonly OutputFormat[]): OutputMode {
  const format = choiceFlag(values.format, 'format', formats) ?? (values.json ? 'json' : 'text');
  if (values.json && format !== 'json') throw new KubepinUsageError(`--json is --format json; it contradicts --format ${format}`);
  if (values.quiet && values.verbose) throw new KubepinUsageError('--quiet and --verbose contradict each other; give one');
  return { format, quiet: values.quiet === true, verbose: values.verbose === true };
}
