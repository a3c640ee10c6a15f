import { createHash } from 'crypto';
import { ImageReference } from '../core/names/image-reference';
import { KubepinError } from '../util/errors';
import { CredentialKeyring, KeyringCredential } from '../core/credentials/keyring';
import { CredentialProviderConfig } from '../node/credential-provider-types';
import { providersForImage } from '../node/credential-provider-validate';
import { describeObject } from '../core/findings/finding';
import { CheckFinding, ImagePullPlan, KubeletState } from './check';
import { describeBackoff, imagePullBackoffSchedule } from './backoff';
import { splitFix } from './report';
import { RELOCK_FIX, kubeletPullMessage, manifestUrl } from '../core/names/kubelet-pull-errors';
import { ImageProbeOptions, ManifestAnswer, ManifestProber, ProbeCredential } from './probe-types';

export { ImageProbeOptions, ManifestAnswer, ManifestProber, ProbeCredential } from './probe-types';

/** One credential attempt of a probe, without the secret. */
export interface ProbeAttempt {
  /** `pod-secret`, `node-config`, or `anonymous`. */
  readonly stage: 'pod-secret' | 'node-config' | 'anonymous';
  /** The Secret name or config file the credential came from. */
  readonly source?: string;
  /** The config key that matched. */
  readonly key?: string;
  /** The user name tried. */
  readonly username?: string;
  /** The answer. */
  readonly outcome: ManifestAnswer['outcome'];
  /** HTTP status, when the registry answered. */
  readonly status?: number;
}

/** The predicted result of the kubelet's pull of one image by one workload. */
export interface ImageProbe {
  /** The workload (`Deployment shop/web`). */
  readonly workload: string;
  /** The image as written. */
  readonly image: string;
  /** `pulls`, `fails`, or `unknown` (a credential only the node can produce decides). */
  readonly prediction: 'pulls' | 'fails' | 'unknown';
  /** The kubelet state when it fails: `ErrImagePull`, then `ImagePullBackOff`. */
  readonly state?: KubeletState;
  /** The credentials the kubelet tries, in its order, with what each got. */
  readonly attempts: ProbeAttempt[];
  /** Seconds between retries while in ImagePullBackOff, when it fails. */
  readonly backoffSeconds?: number[];
  /** Manifest digest the registry answered with, when it pulls. */
  readonly digest?: string;
  /** When it pulls with a credential: whether an anonymous pull would work too (the credential is not needed). */
  readonly anonymousPulls?: boolean;
  /** Why, in one sentence; never contains a credential. */
  readonly reason: string;
  /** When it fails because the registry could not be reached: the host, and the cause in words. */
  readonly registry?: string;
  readonly cause?: string;
}

/** Images probed at once. */
const PROBE_WORKERS = 8;

interface Attempt {
  readonly info: Omit<ProbeAttempt, 'outcome' | 'status'>;
  readonly credential?: ProbeCredential;
}

/**
 * Predicts the kubelet's pull of every plan's image: tries the credentials the kubelet
 * would try, in its order (pod secrets, then node config.json), stops at the first that
 * works, and never falls back to anonymous when one matched. Identical requests are made
 * once. Findings: `pull-fails` (error, `ErrImagePull` then `ImagePullBackOff`) and
 * `pull-uncertain` (warning).
 */
export async function probePlans(plans: readonly ImagePullPlan[], options: ImageProbeOptions = {}): Promise<{ findings: CheckFinding[]; probes: ImageProbe[] }> {
  const owned = options.prober ? undefined : registryProber(options);
  const prober = options.prober ?? owned!;
  const cache = new Map<string, Promise<ManifestAnswer>>();
  const ask = (image: ImageReference, attempt: Attempt): Promise<ManifestAnswer> => {
    // Keyed by a hash of the credential (two Secrets may share a name across namespaces).
    const who = attempt.credential ? createHash('sha256').update(`${attempt.credential.username}\u0000${attempt.credential.password}`).digest('hex') : '-';
    const id = `${image.toString()}\u0000${who}`;
    let answer = cache.get(id);
    if (!answer) {
      answer = prober(image, attempt.credential);
      cache.set(id, answer);
    }
    return answer;
  };
  const findings: CheckFinding[] = [];
  const probes: ImageProbe[] = [];
  const planned: ImageProbe[] = new Array(plans.length);
  try {
    // A few workers: the registry client limits requests per host, identical requests are shared.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < plans.length) {
        const i = next++;
        planned[i] = await probeOne(plans[i], options, ask);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PROBE_WORKERS, plans.length) }, worker));
  } finally {
    owned?.close();
  }
  for (const [i, plan] of plans.entries()) {
    const probe = planned[i];
    probes.push(probe);
    if (probe.prediction === 'pulls') {
      if (probe.anonymousPulls) {
        const used = probe.attempts.filter((a) => a.stage !== 'anonymous').map((a) => a.source).filter(Boolean);
        findings.push({
          code: 'pull-secret-for-public-registry', severity: 'warning', object: plan.object, path: plan.path, image: plan.image,
          message: `${plan.reference.registry} serves ${plan.reference.familiar} without credentials, yet the kubelet will present ${used.join(', ')}: once that credential goes stale the pull fails, because the kubelet never retries anonymously after a credential matched. Fix: narrow the secret's registry key so it does not match ${plan.reference.name}, or drop it`,
          ...(plan.file !== undefined ? { file: plan.file } : {}),
          ...(plan.line !== undefined ? { line: plan.line } : {}),
        });
      }
      continue;
    }
    findings.push({
      code: probe.prediction === 'fails' ? 'pull-fails' : 'pull-uncertain',
      severity: probe.prediction === 'fails' ? 'error' : 'warning',
      object: plan.object,
      path: plan.path,
      image: plan.image,
      message: probe.reason,
      ...(probe.state ? { state: probe.state } : {}),
      ...(probe.registry !== undefined ? { registry: probe.registry, cause: probe.cause } : {}),
      ...(plan.file !== undefined ? { file: plan.file } : {}),
      ...(plan.line !== undefined ? { line: plan.line } : {}),
    });
  }
  return { findings, probes };
}

async function probeOne(plan: ImagePullPlan, options: ImageProbeOptions, ask: (image: ImageReference, attempt: Attempt) => Promise<ManifestAnswer>): Promise<ImageProbe> {
  const image = plan.reference;
  const base = { workload: describeObject(plan.object), image: plan.image };
  const failed = (reason: string, attempts: ProbeAttempt[]): ImageProbe => {
    const { problem, fix } = splitFix(reason);
    return {
      ...base, prediction: 'fails', state: 'ErrImagePull', attempts, backoffSeconds: imagePullBackoffSchedule(6),
      reason: `${problem}. The kubelet reports ErrImagePull, then ImagePullBackOff, retrying after ${describeBackoff()}${fix ? `. Fix: ${fix}` : ''}`,
    };
  };
  if (plan.keyringError) {
    return failed(`${plan.keyringError}; the kubelet cannot build the pod's keyring and fails the pull before asking the registry. Fix: repair the Secret`, []);
  }
  const name = image.toString();
  const fromKeyring = (stage: 'pod-secret' | 'node-config', creds: KeyringCredential[]): Attempt[] =>
    creds.map((c) => ({ info: { stage, source: c.source, key: c.key, username: c.username }, credential: { username: c.username, password: c.password } }));
  const known = [
    ...fromKeyring('pod-secret', plan.keyring.lookupCredentials(name)),
    ...fromKeyring('node-config', options.nodeCredentials?.lookupCredentials(name) ?? []),
  ];
  const providers = plan.providers.length > 0 ? plan.providers
    : options.credentialProviders ? providersForImage(options.credentialProviders, name).map((p) => p.provider) : [];
  const unknown = [...plan.unknownSecrets.map((s) => `Secret ${s}`), ...providers.map((p) => `credential provider ${p}`)];
  const attempts: Attempt[] = known.length > 0 ? known : unknown.length > 0 ? [] : [{ info: { stage: 'anonymous' } }];
  const done: ProbeAttempt[] = [];
  let last: ManifestAnswer | undefined;
  for (const attempt of attempts) {
    const answer = await ask(image, attempt);
    done.push({ ...attempt.info, outcome: answer.outcome, ...('status' in answer ? { status: answer.status } : {}) });
    last = answer;
    if (answer.outcome === 'found') {
      const gone = await missingChild(image, attempt, options, ask);
      if (gone) return failed(gone, done);
      // Does the registry need the credential at all? If not, it only adds a way to fail.
      let anonymous: boolean | undefined;
      if (attempt.info.stage !== 'anonymous') anonymous = (await ask(image, { info: { stage: 'anonymous' } })).outcome === 'found';
      return {
        ...base, prediction: 'pulls', attempts: done, ...(answer.digest ? { digest: answer.digest } : {}),
        ...(anonymous !== undefined ? { anonymousPulls: anonymous } : {}),
        reason: `${describeAttempt(done[done.length - 1])} can read ${image.familiar}`,
      };
    }
    // The kubelet tries the next credential after any failure (some registries answer 404 to
    // hide private repositories); only a host that cannot be reached fails them all alike.
    if (answer.outcome === 'unreachable' || answer.outcome === 'tls') break;
  }
  if (unknown.length > 0) {
    return {
      ...base, prediction: 'unknown', attempts: done,
      reason: `${done.length > 0 ? `${done.map(describeAttempt).join(', ')} failed; ` : ''}the outcome depends on ${unknown.join(', ')}, whose credentials only the cluster has. Fix: ${plan.unknownSecrets.length > 0 ? 'pass the Secret with --secret-file to predict it' : 'check on a node that the provider serves this image'}`,
    };
  }
  const down = (last!.outcome === 'unreachable' || last!.outcome === 'tls') && last!.host !== undefined ? { registry: last!.host, cause: last!.cause } : {};
  return { ...failed(explainFailure(image, last!, done), done), ...down };
}

function describeAttempt(a: ProbeAttempt): string {
  if (a.stage === 'anonymous') return 'an anonymous pull';
  const who = a.username ? ` (user ${a.username})` : '';
  return a.stage === 'pod-secret' ? `pull Secret ${a.source}${who}` : `node config ${a.source}${who}`;
}

function explainFailure(image: ImageReference, answer: ManifestAnswer, done: ProbeAttempt[]): string {
  const tried = done.map(describeAttempt).join(', then ');
  const matched = done.length > 0 && done[0].stage !== 'anonymous';
  switch (answer.outcome) {
    case 'unauthorized':
    case 'forbidden': {
      let code = answer.outcome === 'unauthorized' ? '401 Unauthorized' : '403 Forbidden';
      if (image.digest !== undefined) code += ` (the pod's events will read: ${kubeletPullMessage({ kind: answer.outcome, image: image.toString(), url: manifestUrl(image.registry, image.repository, image.digest) })})`;
      if (!matched) {
        return `${image.registry} answered ${code} to an anonymous pull of ${image.familiar}: the registry needs credentials and no pull secret or node credential matches ${image.name}. Fix: add a pull Secret for ${image.registry} to the pod's imagePullSecrets`;
      }
      return `${image.registry} answered ${code} to ${tried}; the kubelet does not retry anonymously once a credential matched. Fix: renew the credentials in ${done.map((d) => d.source).filter(Boolean).join(', ')}, or remove the stale secret if ${image.registry} needs none`;
    }
    case 'not-found':
      if (image.digest !== undefined) return digestGone(image, answer, tried);
      return `${image.registry} has no manifest for ${image.familiar} (404${done.length > 0 ? ` to ${tried}` : ''}): the ${image.digest ? 'digest' : `tag "${image.tag ?? 'latest'}"`} does not exist in ${image.repository}. Fix: push the image or correct the ${image.digest ? 'digest' : 'tag'}`;
    case 'unreachable':
      if (answer.cause !== undefined) return `registry ${answer.host}: ${answer.cause}. Fix: ${answer.fix === 'see above' ? 'check the registry host' : answer.fix}; the nodes must reach it too`;
      return `${image.registry} is unreachable (${answer.detail}). Fix: check the registry host and that the nodes can reach it`;
    case 'tls':
      return `${answer.cause !== undefined ? `registry ${answer.host}: ${answer.cause}` : `TLS with ${image.registry} failed (${answer.detail})`}; the nodes' container runtime will fail the same way unless it trusts the registry's CA. Fix: use a certificate the nodes' container runtime trusts (it fails as this check did otherwise); to trust its CA here, pass --ca-file`;
    case 'error':
      return `${image.registry} answered HTTP ${answer.status} to ${tried}${answer.detail ? ` (${answer.detail})` : ''}`;
    default:
      return `the pull of ${image.familiar} fails`;
  }
}

/** Why a platform manifest of the pinned index (one the lock records) will not pull, if one is gone. */
async function missingChild(image: ImageReference, attempt: Attempt, options: ImageProbeOptions, ask: (image: ImageReference, attempt: Attempt) => Promise<ManifestAnswer>): Promise<string | undefined> {
  if (image.digest === undefined || !options.children) return undefined;
  for (const { platform, digest } of options.children(image)) {
    const answer = await ask(image.withoutTag().withDigest(digest), attempt);
    if (answer.outcome !== 'not-found') continue;
    const events = kubeletPullMessage({ kind: 'child-not-found', image: image.toString(), url: manifestUrl(image.registry, image.repository, digest) });
    return `${image.registry} serves the index ${image.digest} of ${image.repository} but not its ${platform} manifest ${digest} (404): it was deleted or garbage-collected, and ${platform} nodes fail the pull; the pod's events will read: ${events}. Fix: ${RELOCK_FIX}`;
  }
  return undefined;
}

/** A pinned digest the registry answers 404 for: deleted or garbage-collected, or its whole repository gone. */
function digestGone(image: ImageReference, answer: ManifestAnswer, tried: string): string {
  const code = 'detail' in answer && answer.detail ? answer.detail : '';
  const events = `the pod's events will read: ${kubeletPullMessage({ kind: 'not-found', image: image.toString() })}`;
  if (code.startsWith('NAME_UNKNOWN')) {
    return `${image.registry} no longer knows the repository ${image.repository} (404 ${code}${tried ? ` to ${tried}` : ''}), so ${image.digest} will not pull; ${events}. Fix: restore the repository, or move the image elsewhere and ${RELOCK_FIX}`;
  }
  return `${image.registry} no longer serves ${image.digest} of ${image.repository} (404${code ? ` ${code}` : ''}${tried ? ` to ${tried}` : ''}): it was deleted or garbage-collected; ${events}. Fix: ${RELOCK_FIX}`;
}

/**
 * A {@link ManifestProber} over the registry client (lib/registry): a manifest request with
 * the given credential, authenticating as the registry asks (Basic, or a Bearer token for
 * `repository:<name>:pull`).
 */
export function registryProber(options: ImageProbeOptions = {}): ManifestProber & { close(): void } {
  // Loaded lazily so the static check never needs the registry client.
  let adapter: { createRegistryProber(options: ImageProbeOptions): ManifestProber & { close(): void } };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    adapter = require('./registry-adapter');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    throw new KubepinError('the registry probe is not available in this build (the registry client is missing); run without --online');
  }
  return adapter.createRegistryProber(options);
}
