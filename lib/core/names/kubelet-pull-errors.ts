/**
 * The text a pod's events and container status show when the kubelet's pull fails, as
 * containerd (the CRI runtime of nearly every cluster) words it: `kubectl describe pod` prints
 * `Failed to pull image "…": rpc error: code = … desc = <this>`, then `Back-off pulling image "…"`.
 * Engine-neutral and registry-free: `kubepin check` (offline and --online) and `kubepin verify
 * --remote` both quote it.
 */

/** Why a pull fails, as far as its message goes. */
export type PullFailureKind =
  /** The manifest (a tag, or a digest the registry deleted) or its repository does not exist. */
  | 'not-found'
  /** The registry refused the credential presented (or wants one). */
  | 'unauthorized'
  /** The credential lacks pull access. */
  | 'forbidden'
  /** The index lists no manifest for the node's platform. */
  | 'no-platform'
  /** The index is there but the node's platform manifest it lists is gone. */
  | 'child-not-found';

/** The image reference as containerd names it: fully qualified (`docker.io/library/nginx@sha256:…`). */
export interface PullFailure {
  readonly kind: PullFailureKind;
  /** The image as the kubelet passes it (normalized). */
  readonly image: string;
  /** For `unauthorized` / `forbidden` / `child-not-found`: the URL of the manifest request. */
  readonly url?: string;
}

/** The gRPC status code the runtime returns for the failure. */
function grpcCode(kind: PullFailureKind): string {
  return kind === 'not-found' || kind === 'no-platform' || kind === 'child-not-found' ? 'NotFound' : 'Unknown';
}

/** containerd's description of the failure. */
export function runtimePullError(failure: PullFailure): string {
  const prefix = `failed to pull and unpack image "${failure.image}"`;
  const resolve = `failed to resolve reference "${failure.image}"`;
  switch (failure.kind) {
    case 'not-found':
      return `${prefix}: ${resolve}: ${failure.image}: not found`;
    case 'unauthorized':
      return `${prefix}: ${resolve}: unexpected status from HEAD request to ${failure.url ?? 'the registry'}: 401 Unauthorized`;
    case 'forbidden':
      return `${prefix}: ${resolve}: unexpected status from HEAD request to ${failure.url ?? 'the registry'}: 403 Forbidden`;
    case 'no-platform':
      return `${prefix}: no match for platform in manifest: not found`;
    case 'child-not-found':
      return `${prefix}: failed to copy: httpReadSeeker: failed open: content at ${failure.url ?? 'the registry'} not found: not found`;
  }
}

/** The event the kubelet records: `Failed to pull image "…": rpc error: code = NotFound desc = …`. */
export function kubeletPullMessage(failure: PullFailure): string {
  return `Failed to pull image "${failure.image}": rpc error: code = ${grpcCode(failure.kind)} desc = ${runtimePullError(failure)}`;
}

/** The fix for a locked digest the registry no longer serves. */
export const RELOCK_FIX = 're-lock with `kubepin lock --update`, and check the registry\'s retention rules (untagged or old manifests may be deleted or garbage-collected)';

/** The URL containerd requests for a manifest (Docker Hub's API host for `docker.io`), as its messages quote it. */
export function manifestUrl(registry: string, repository: string, reference: string): string {
  return `https://${registry === 'docker.io' ? 'registry-1.docker.io' : registry}/v2/${repository}/manifests/${reference}`;
}
