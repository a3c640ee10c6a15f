// Lets a child `node` process require the TypeScript sources directly (tests that kill
// a real process mid-write need one). Same transform as jest's (@swc/jest).
const fs = require('fs');
const path = require('path');
const swc = require(path.join(__dirname, '..', '..', 'node_modules', '@swc', 'core'));
require.extensions['.ts'] = function compile(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { code } = swc.transformSync(source, { filename, jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } });
  module._compile(code, filename);
};
