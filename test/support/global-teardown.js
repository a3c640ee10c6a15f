// Removes the run's temporary directory made by global-setup.js.
'use strict';
const fs = require('fs');

module.exports = async function globalTeardown() {
  const dir = process.env.KUBEPIN_TEST_RUN_TMPDIR;
  if (!dir) return;
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch (e) {
    process.stderr.write(`warning: could not remove the test run's temporary directory ${dir}: ${e.message}\n`);
  }
};
