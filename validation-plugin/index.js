'use strict';
/**
 * cdk8s validation plugin for kubepin: runs the static rules of `kubepin check` (the same
 * `checkDocuments` the CLI uses) on the manifests `cdk8s synth` wrote. Offline: no registry
 * is contacted. CommonJS and free of any cdk8s-cli dependency; cdk8s-cli hands us a context
 * with `manifests`, `report` and `logger`.
 *
 * cdk8s.yaml:
 *   validations:
 *     - package: ./validation-plugin
 *       version: 0.1.0
 *       class: KubepinValidation
 *       properties: { failOn: error, allowedRegistries: [ghcr.io/acme] }
 */
const path = require('path');

/** docs/check.md as shipped beside the plugin (node_modules/kubepin/docs/check.md in a project). */
const CHECK_DOC = path.relative(process.cwd(), path.join(__dirname, '..', 'docs', 'check.md'));

/** Loads the compiled kubepin core: the repository's build first, then an installed package. */
function loadKubepin() {
  const candidates = [path.join(__dirname, '..', 'dist', 'lib'), 'kubepin'];
  for (const candidate of candidates) {
    try {
      return require(candidate);
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND' || !String(e.message).includes(candidate)) throw e;
    }
  }
  throw new Error('kubepin validation plugin: cannot load kubepin (looked for ../dist/lib and the "kubepin" package). Fix: run `npm run build` first, or install kubepin next to the plugin');
}

const LIST_PROPERTIES = ['clusterSecrets', 'allowedRegistries', 'publicRegistries', 'privateRegistries', 'prePulled'];
const SEVERITIES = ['error', 'warning', 'info'];

/** Runs kubepin's image checks as a cdk8s validation. */
class KubepinValidation {
  /**
   * @param {object} [properties] the `properties` of the `validations:` entry: `failOn`
   *   (`error` | `warning` | `info`, default `error`), `clusterSecrets`, `allowedRegistries`,
   *   `publicRegistries`, `privateRegistries`, `prePulled` (lists of strings),
   *   `ensureSecretPulledImages` (boolean, default true).
   */
  constructor(properties = {}) {
    if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
      throw new Error('kubepin validation plugin: "properties" must be a map');
    }
    const known = new Set(['failOn', 'ensureSecretPulledImages', ...LIST_PROPERTIES]);
    for (const key of Object.keys(properties)) {
      if (!known.has(key)) throw new Error(`kubepin validation plugin: unknown property "${key}" (known: ${[...known].join(', ')})`);
    }
    const failOn = properties.failOn === undefined ? 'error' : properties.failOn;
    if (!SEVERITIES.includes(failOn)) throw new Error(`kubepin validation plugin: failOn must be one of ${SEVERITIES.join(', ')}, got ${JSON.stringify(failOn)}`);
    for (const key of LIST_PROPERTIES) {
      const value = properties[key];
      if (value !== undefined && (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))) {
        throw new Error(`kubepin validation plugin: ${key} must be a list of strings`);
      }
    }
    this.failOn = failOn;
    this.options = {};
    for (const key of LIST_PROPERTIES) if (properties[key] !== undefined) this.options[key] = properties[key];
    if (properties.ensureSecretPulledImages !== undefined) this.options.ensureSecretPulledImages = properties.ensureSecretPulledImages === true;
  }

  /** Called by cdk8s-cli after synthesis; ends with `report.submit`. */
  async validate(context) {
    const kubepin = loadKubepin();
    let status = 'success';
    let counts = { errors: 0, warnings: 0, infos: 0 };
    try {
      const { findings } = kubepin.checkFiles(context.manifests, this.options);
      counts = kubepin.summarize(findings);
      for (const finding of findings) {
        if (kubepin.atLeast(finding.severity, this.failOn)) status = 'failure';
        const { problem, fix } = kubepin.splitFix(finding.message);
        const where = finding.line !== undefined ? `${finding.path || 'line'}${finding.path ? ` (line ${finding.line})` : ` ${finding.line}`}` : finding.path;
        context.report.addViolation({
          ruleName: `kubepin/${finding.code} [${finding.severity}]`,
          recommendation: finding.state ? `${problem}. Predicted kubelet state: ${finding.state}` : problem,
          fix: fix || `See ${CHECK_DOC}`,
          violatingResources: [{
            // cdk8s-cli looks the construct path up by the object's metadata.name.
            resourceName: finding.object.kind === 'File' ? finding.file : (finding.object.name || '<unnamed>').replace(/\*$/, ''),
            locations: where ? [where] : [],
            manifestPath: finding.file,
          }],
        });
      }
    } catch (e) {
      context.logger.log(`kubepin validation plugin: ${e && e.message ? e.message : String(e)}`);
      status = 'failure';
    }
    context.report.submit(status, {
      Errors: String(counts.errors),
      Warnings: String(counts.warnings),
      'Fail on': this.failOn,
    });
  }
}

module.exports = { KubepinValidation };
