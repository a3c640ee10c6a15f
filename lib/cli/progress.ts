import { CliIo } from './io';

/** A running progress line on stderr; {@link stop} clears it. */
export interface Progress {
  /** Ends the progress (clears a live line; with --verbose, says how long it took). */
  stop(done: string): void;
}

/**
 * Says on stderr that `what` is running: a live line with the seconds so far when stderr is a
 * terminal (not in CI), one line at the start and one at the end with `--verbose`, else nothing.
 * Never on stdout, so `--json` output stays one JSON document.
 */
export function startProgress(io: CliIo, what: string, options: { readonly verbose: boolean; readonly quiet: boolean; readonly json: boolean }): Progress {
  const live = !options.quiet && !options.json && io.stderr.isTTY === true && !io.env.CI;
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  if (!live) {
    if (options.verbose) io.stderr.write(`${what}…\n`);
    return { stop: (done) => { if (options.verbose) io.stderr.write(`${done} (${seconds()} s)\n`); } };
  }
  const draw = () => io.stderr.write(`\r\x1b[K${what}… ${Math.floor(seconds())} s`);
  draw();
  const timer = setInterval(draw, 1000);
  timer.unref();
  return {
    stop: (done) => {
      clearInterval(timer);
      io.stderr.write('\r\x1b[K');
      if (options.verbose) io.stderr.write(`${done} (${seconds()} s)\n`);
    },
  };
}
