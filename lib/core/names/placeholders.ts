/*
 * Message helpers of the image-reference parser, and the naming of placeholders (template
 * actions, variables, `ko://` paths) in images that do not parse: split from image-reference.ts.
 */

/** `text`, cut at 80 characters for messages. */
export function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** JSON-quotes `text` (so control characters stay visible), truncated for long input. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

/** What a placeholder is and how to get a real image in its place. */
export interface PlaceholderDiagnosis {
  readonly rule: 'unrendered-placeholder' | 'ko-import-path' | 'run-time-parameter';
  readonly detail: string;
  readonly fix: string;
}

/** Roots of the variables Tekton substitutes in Tasks and Pipelines (`$(params.x)`, `$(context.taskRun.name)`…). */
const TEKTON_VARIABLE = /^(?:params|inputs\.params|context|tasks|steps|step|workspaces|results|resources|credentials)\b/;
/** How Go template actions start: a field or variable (`.Values.x`, `$.Values.x`) or a keyword or function (Helm's included). */
const GO_TEMPLATE_ACTION = /^(?:[.$]|(?:include|template|tpl|printf|print|default|required|quote|index|coalesce|toYaml|if|with|range|else|end|annotation)\b)/;
/** Roots of Argo Workflows parameters (`{{inputs.parameters.image}}`, `{{workflow.parameters.x}}`, `{{item}}`…). */
const ARGO_PARAMETER = /^(?:inputs|outputs|workflow|steps|tasks|item|pod|node|retries|lastRetry)\b/;

/**
 * Names the placeholder in an image string that did not parse: a `ko://` import path, a
 * template action or variable some tool substitutes, or a fill-in-the-blank. None of their
 * characters (`{ } $ ( ) < >`, `://`) is in the reference grammar, so the image is invalid as
 * written, but the right fix is to run that tool, not to respell the text.
 */
export function describePlaceholder(input: string): PlaceholderDiagnosis | undefined {
  // Inputs here are at most MAX_REFERENCE_LENGTH long, and every pattern is a single bounded scan.
  if (input.startsWith('ko://')) {
    const importPath = input.slice('ko://'.length);
    return {
      rule: 'ko-import-path',
      detail: `it is a ko import path (Go package ${quote(importPath)}), not a registry reference: \`ko resolve\` and \`ko apply\` build the package, push it and write the image reference in its place`,
      fix: 'run `ko resolve -f <file>` (or `ko apply -f <file>`) first and check its output',
    };
  }
  const named = (text: string) => quote(truncate(text));
  const unrendered = (what: string, fix: string): PlaceholderDiagnosis => ({ rule: 'unrendered-placeholder', detail: what, fix });
  const runTime = (what: string, fix: string): PlaceholderDiagnosis => ({ rule: 'run-time-parameter', detail: what, fix });
  if (/^\(.*\)$/s.test(input)) {
    return runTime(`the whole value is an expression in parentheses, as Kyverno Chainsaw tests write JMESPath bindings (${named(input)}), which chainsaw evaluates when the test runs`,
      'nothing to fix if this is a chainsaw test step (chainsaw substitutes it at run time); to check the image, check the resource chainsaw applies, or leave test fixtures out of the checked paths');
  }
  const action = /(\$?)\{\{-?\s*([^{}]*?)\s*-?\}\}/.exec(input);
  if (action) {
    const [text, dollar, expression] = action;
    if (dollar) {
      return unrendered(`${named(text)} is a GitHub Actions expression, which the workflow run substitutes`,
        'apply the manifest from the workflow step that substitutes it, or write the image there');
    }
    if (ARGO_PARAMETER.test(expression)) {
      return runTime(`${named(text)} is an Argo Workflows parameter, which the workflow controller substitutes when the workflow runs`,
        'the workflow substitutes it at run time: pass the parameter when submitting (`argo submit -p …`) or give it a concrete default; to check the image, check the pods the workflow creates');
    }
    if (GO_TEMPLATE_ACTION.test(expression)) {
      return unrendered(`${named(text)} is an unrendered Helm/Go template action, not part of an image reference`,
        'render the template first (`helm template <chart>` for a Helm chart) and check its output');
    }
    return unrendered(`${named(text)} is an unrendered template expression (Jinja, Mustache or Go template syntax)`,
      'render the template first with the tool that owns it (`helm template`, Ansible, …) and check its output');
  }
  const bracketed = /\[\[[^[\]]*\]\]/.exec(input);
  if (bracketed) {
    return unrendered(`${named(bracketed[0])} is an unrendered Go template action with "[[ ]]" delimiters (as older Istio sidecar injection templates write them)`,
      'render the template first with the tool that owns it and check its output');
  }
  const parenthesized = /\$\(([^()]*)\)/.exec(input);
  if (parenthesized) {
    if (TEKTON_VARIABLE.test(parenthesized[1])) {
      return runTime(`${named(parenthesized[0])} is a Tekton variable, which Tekton substitutes when the TaskRun or PipelineRun runs`,
        'the pipeline substitutes it at run time: pass the param in the run or give it a concrete default; to check the image, check the pods the run creates');
    }
    return unrendered(`${named(parenthesized[0])} is an unsubstituted $(VAR) reference (a make, kustomize or Kubernetes variable); the kubelet expands $(VAR) in command, args and env, never in image`,
      `substitute ${parenthesized[1] || 'it'} before applying (run the make target or script that renders this file, or set the image with kustomize \`images:\`)`);
  }
  const variable = /\$\{([^{}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/.exec(input);
  if (variable) {
    const name = (variable[1] ?? variable[2]).replace(/[:=?+-].*$/s, '');
    return unrendered(`${named(variable[0])} is an unsubstituted shell/envsubst variable`,
      `render the file first, e.g. \`${name || 'VAR'}=… envsubst < <file>\`, or run the script that fills it`);
  }
  const angle = /<[^<>]*>/.exec(input);
  if (angle) {
    return unrendered(`${named(angle[0])} is an angle-bracket placeholder to fill in, not an image`,
      'replace it with the image to run, e.g. "registry.example.com/team/app:1.0"');
  }
  const brace = /\{[^{}]*\}/.exec(input);
  if (brace) {
    return unrendered(`${named(brace[0])} is an unfilled brace placeholder`,
      `replace ${named(brace[0])} with the value it stands for, or run the script that fills it in`);
  }
  return undefined;
}
