import { RegistryError } from './registry-error';
import { closest } from '../../util/known-keys';

/** Why a registry host could not be talked to at all, in words, and what to do. */
export interface HostFailure {
  /** The cause, e.g. `the DNS name "locahost" was not found`. */
  readonly cause: string;
  /** The fix. */
  readonly fix: string;
}

/** Registries users often mean, for "did you mean" on a host that does not resolve. */
const WELL_KNOWN_HOSTS = ['localhost', 'docker.io', 'ghcr.io', 'quay.io', 'gcr.io', 'registry.k8s.io', 'registry.gitlab.com', 'public.ecr.aws', 'mcr.microsoft.com'];

/**
 * The host-level cause of `error` (the registry could not be reached: DNS, refused, no answer,
 * TLS, an insecure or redirecting host), or `undefined` for an answer about one image (401,
 * 404, a digest mismatch…). `knownHosts` are the other registries of the run, for "did you mean".
 */
export function hostFailure(error: RegistryError, knownHosts: readonly string[] = []): HostFailure | undefined {
  const host = error.host;
  const [hostname, port] = splitHost(host);
  const message = error.message;
  if (error.kind === 'tls') {
    const detail = /\(([^)]*)\)/.exec(message)?.[1];
    return {
      cause: `TLS failed${detail ? ` (${detail})` : ''}`,
      fix: `if ${host} uses a private CA, pass it with --ca-file (or NODE_EXTRA_CA_CERTS); if it speaks plain HTTP, allow it with --insecure-registry ${host}`,
    };
  }
  if (error.kind === 'timeout') {
    const ms = /within (\d+) ms/.exec(message)?.[1];
    return {
      cause: /looks down/.test(message) ? 'requests kept timing out, so it looks down' : `no answer${ms ? ` within ${Number(ms) / 1000} s` : ''}${/connect timed out/.test(message) ? ' (the connection could not be opened)' : ''}`,
      fix: `check that ${host} is reachable from here (network, VPN, firewall, proxy); for a slow registry raise --timeout SECONDS`,
    };
  }
  if (error.kind === 'insecure' || error.kind === 'redirect') return { cause: stripImage(message), fix: 'see above' };
  if (error.kind !== 'network') return undefined;
  if (/ENOTFOUND/.test(message)) {
    const near = closest(hostname, [...new Set([...knownHosts.map((h) => splitHost(h)[0]), ...WELL_KNOWN_HOSTS])].filter((h) => h !== hostname));
    return {
      cause: `the DNS name "${hostname}" was not found`,
      fix: `${near ? `did you mean ${near}${port ? `:${port}` : ''}? ` : ''}correct the registry host in the image; if the name is right, check this machine's DNS (or /etc/hosts)`,
    };
  }
  if (/EAI_AGAIN/.test(message)) return { cause: `the DNS lookup of "${hostname}" failed (no DNS server answered)`, fix: 'check the network and DNS of this machine, then run again' };
  if (/connection refused/.test(message)) {
    return { cause: `connection refused: nothing listens on ${hostname} port ${port ?? '443'}`, fix: `start the registry, or correct the host and port in the image (${host})` };
  }
  if (/EHOSTUNREACH|ENETUNREACH/.test(message)) return { cause: 'no route to the host (network unreachable)', fix: `check the network path to ${host} (VPN, firewall)` };
  if (/connection reset/.test(message)) return { cause: 'the connection was reset, again after the retries', fix: `check that ${host} is a registry and that no proxy cuts the connection; run again` };
  return { cause: stripImage(message), fix: `check that ${host} is reachable from here and is a registry` };
}

/** The host-level failure of `error` with its host, or `undefined` (see {@link hostFailure}). */
export function unreachableHost(error: unknown, knownHosts: readonly string[] = []): (HostFailure & { readonly host: string }) | undefined {
  if (!(error instanceof RegistryError)) return undefined;
  const failure = hostFailure(error, knownHosts);
  return failure ? { host: error.host, ...failure } : undefined;
}

/** `items` split into those about an unreachable host (by host, in first-seen order) and the rest. */
export function groupByHost<T>(items: readonly T[], hostOf: (item: T) => string | undefined): { byHost: Map<string, T[]>; rest: T[] } {
  const byHost = new Map<string, T[]>();
  const rest: T[] = [];
  for (const item of items) {
    const host = hostOf(item);
    if (host === undefined) rest.push(item);
    else byHost.set(host, [...(byHost.get(host) ?? []), item]);
  }
  return { byHost, rest };
}

/** The heading said once for an unreachable host: `registry H: <cause>; 2 images on it could not be <done>:`. */
export function hostFailureHeading(host: string, cause: string, images: number, done: string): string {
  return `registry ${host}: ${cause}; ${images === 1 ? 'the image' : `${images} images`} on it could not be ${done}:`;
}

function splitHost(host: string): [string, string | undefined] {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  return m ? [m[1], m[2]] : [host, undefined];
}

/** The message without its leading "<image or URL>: ". */
function stripImage(message: string): string {
  return message.replace(/^[^\s:]+(?::\d+)?[^\s:]*: /, '');
}
