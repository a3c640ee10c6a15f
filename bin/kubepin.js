#!/usr/bin/env node
'use strict';
// Runs the compiled CLI (`npm run build` makes dist/).
const { main, processIo } = require('../dist/lib/cli/main');
main(process.argv.slice(2), processIo()).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`kubepin: internal error: ${err && err.stack ? err.stack : err}\n`); process.exitCode = 70; },
);
