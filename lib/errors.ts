/** Moved to `base/errors.ts` (the folders under lib/ import it from there without a cycle through lib/'s root); this path still serves the files that import it. */
export * from './base/errors';
