import { ImagePolicyOptions } from '../core/policy/engine';
import type { PrePullHelperImages } from '../prepull';

/** Resolves a tagged image to a digest at deployment time (a `RegistryClient` fits). */
export interface DigestResolver {
  /**
   * The digest `image` (a tagged reference) points to now, and the manifest's media type.
   * Rejects when the registry cannot answer; the resource then fails with that error.
   */
  resolve(image: string): Promise<{ readonly digest: string; readonly mediaType: string }>;
}

/** Options of the Pulumi face's image policy: the core's options plus deploy-time resolution. */
export interface PulumiImagePolicyOptions extends ImagePolicyOptions {
  /** Where digests come from. @default `kubepin.lock.json` in the program's directory (a missing file is an empty lock) */
  readonly lock?: ImagePolicyOptions['lock'];
  /**
   * Resolves images missing from the lock while the program runs (preview and update), so their
   * digests show in the resource inputs. Ignored in `strict` mode, which fails instead.
   * @default none: images missing from the lock stay unpinned and are reported
   */
  readonly resolver?: DigestResolver;
  /**
   * Where warnings go. @default `pulumi.log.warn`
   */
  readonly onWarning?: (message: string) => void;
  /**
   * The helper and pause images of the stack's `PrePullDaemonSet`s, e.g. mirrors in your registry
   * when docker.io or registry.k8s.io are not reachable or not in `allowedRegistries`. A
   * `PrePullDaemonSet`'s own args win.
   * @default kubepin.config.json's `prePullHelpers`, else busybox:1.36.1 and registry.k8s.io/pause:3.10
   */
  readonly prePullHelpers?: PrePullHelperImages;
}
