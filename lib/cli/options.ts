import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { KubepinUsageError } from '../util/errors';
import { closest } from '../util/known-keys';

export { closest } from '../util/known-keys';

/** One flag as `util.parseArgs` takes it. */
export interface FlagSpec {
  /** `string` takes a value, `boolean` does not. */
  readonly type: 'string' | 'boolean';
  /** Repeatable: the values are collected in a list. */
  readonly multiple?: boolean;
  /** One-letter alias. */
  readonly short?: string;
}

/** Flags by long name. */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** The values `util.parseArgs` produces for `S`. */
export type FlagValues<S extends FlagSpecs> = {
  [K in keyof S]?: S[K] extends { multiple: true } ? (S[K]['type'] extends 'boolean' ? boolean[] : string[]) : S[K]['type'] extends 'boolean' ? boolean : string;
};

/** `-h, --help`: every command has it. */
export const HELP_FLAG = { help: { type: 'boolean', short: 'h' } } as const;

/** Flags of every command that talks to registries (`lock`, `verify`, `check --online`). */
export const TRANSPORT_FLAGS = {
  'ca-file': { type: 'string' },
  'insecure-registry': { type: 'string', multiple: true },
  timeout: { type: 'string' },
} as const;

/** Upper bound of `--timeout`, in seconds, for every command. */
export const MAX_TIMEOUT_SECONDS = 3600;
/** Upper bound of whole-number flags (`--concurrency`, `--retries`). */
export const MAX_WHOLE_NUMBER = 1000;

/**
 * Parses `args` with `specs` (strict, positionals allowed). A flag the command does not know
 * becomes a {@link KubepinUsageError} that names the closest known flag.
 */
export function parseFlags<S extends FlagSpecs>(args: readonly string[], specs: S): { values: FlagValues<S & typeof HELP_FLAG>; positionals: string[] } {
  const options = { ...HELP_FLAG, ...specs };
  try {
    const parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
    return { values: parsed.values as FlagValues<S & typeof HELP_FLAG>, positionals: parsed.positionals };
  } catch (e) {
    const error = e as Error & { code?: string };
    if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'(-[^']*)'/.exec(error.message)?.[1] ?? '';
      const known = Object.entries(options).flatMap(([name, spec]) => [`--${name}`, ...(spec.short ? [`-${spec.short}`] : [])]);
      const suggestion = closest(flag.split('=')[0], known);
      throw new KubepinUsageError(`unknown option ${flag}${suggestion ? `; did you mean ${suggestion}?` : ''}`);
    }
    throw new KubepinUsageError(valueErrorMessage(error.message, args, options));
  }
}

/**
 * Our words for `util.parseArgs`'s value errors (a flag without its value, a switch given one,
 * a value that looks like a flag), naming the flag and how to write it.
 */
function valueErrorMessage(message: string, args: readonly string[], options: FlagSpecs): string {
  // parseArgs names the flag as '-o, --output <value>', '-o' or '--json'.
  const named = /'(-{1,2}[\w-]+)(?:, (--[\w-]+))?/.exec(message);
  const written = named?.[1] ?? '';
  const long = named?.[2] ?? (written.startsWith('--') ? written : `--${Object.entries(options).find(([, s]) => `-${s.short}` === written)?.[0] ?? written.slice(1)}`);
  const flag = long;
  if (options[long.slice(2)]?.type === 'boolean' || /does not take an argument/.test(message)) {
    return `${flag} takes no value: give ${flag} alone (without "=…")`;
  }
  if (/ambiguous/.test(message)) {
    const at = args.findIndex((a) => a === written || a === long);
    const next = at >= 0 ? args[at + 1] : undefined;
    return `${written} is followed by ${next !== undefined ? JSON.stringify(next) : 'a word'}, which looks like an option, not its value. Fix: give ${written} its value, or write ${flag}=${next ?? 'VALUE'} if that is the value`;
  }
  if (/argument missing/.test(message)) return `${flag} needs a value: ${flag} VALUE or ${flag}=VALUE`;
  return message.split('\n').join(' ');
}

/** A whole-number flag between `min` and {@link MAX_WHOLE_NUMBER}. @throws KubepinUsageError */
export function wholeNumberFlag(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > MAX_WHOLE_NUMBER) {
    throw new KubepinUsageError(`--${name} must be a whole number from ${min} to ${MAX_WHOLE_NUMBER}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** A number of seconds above 0 and at most {@link MAX_TIMEOUT_SECONDS}. @throws KubepinUsageError */
export function secondsFlag(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n <= 0 || n > MAX_TIMEOUT_SECONDS) {
    throw new KubepinUsageError(`--${name} must be a number of seconds above 0 and at most ${MAX_TIMEOUT_SECONDS}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** One of `choices`. @throws KubepinUsageError naming them all */
export function choiceFlag<T extends string>(value: string | undefined, name: string, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    const list = choices.length > 1 ? `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}` : choices[0];
    throw new KubepinUsageError(`--${name} must be ${list}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** The contents of `--ca-file`, read once. @throws KubepinUsageError when it cannot be read */
export function readCaFile(file: string | undefined, cwd: string): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(path.resolve(cwd, file));
  } catch (e) {
    throw new KubepinUsageError(`--ca-file ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
