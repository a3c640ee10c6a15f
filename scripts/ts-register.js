// Lets a child process `require` the TypeScript sources directly (tests that kill or time
// whole processes), compiled with the same swc the jest transform uses.
'use strict';
const { transformSync } = require('@swc/core');
const fs = require('fs');

require.extensions['.ts'] = function compileTs(module, filename) {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
