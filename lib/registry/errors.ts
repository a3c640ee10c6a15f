/** Moved to `../base/registry-error.ts` (signatures/ imports it from there without a cycle through registry/); this path still serves the files that import it. */
export * from '../base/registry-error';
