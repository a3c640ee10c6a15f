// One temporary directory per test run: every test's temp files (cdk8s's Testing.app() makes an
// outdir per app and never removes it; registries, podman storage) go under it, and
// global-teardown.js removes it, so a run leaves nothing behind in the machine's /tmp.
// The name is short because podman refuses a runroot path longer than 50 characters.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

module.exports = async function globalSetup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kp-'));
  process.env.KUBEPIN_TEST_RUN_TMPDIR = dir;
  process.env.TMPDIR = dir; // Workers and the processes tests start inherit it.
};
