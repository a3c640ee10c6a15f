/** Properties of the `validations:` entry in cdk8s.yaml. */
export interface KubepinValidationProperties {
  /** Lowest severity that fails synthesis. @default 'error' */
  readonly failOn?: 'error' | 'warning' | 'info';
  /** Pull Secrets that live in the cluster (`name` or `namespace/name`). @default none */
  readonly clusterSecrets?: string[];
  /** Registries images may come from. @default any */
  readonly allowedRegistries?: string[];
  /** Registries that need no credentials. @default none */
  readonly publicRegistries?: string[];
  /** Registries that need credentials. @default none */
  readonly privateRegistries?: string[];
  /** Images pre-pulled outside the manifests. @default none */
  readonly prePulled?: string[];
  /** The cluster runs KubeletEnsureSecretPulledImages (1.35+). @default true */
  readonly ensureSecretPulledImages?: boolean;
}

/** Runs kubepin's image checks as a cdk8s validation plugin. */
export declare class KubepinValidation {
  constructor(properties?: KubepinValidationProperties);
  /** Called by cdk8s-cli with its validation context. */
  validate(context: unknown): Promise<void>;
}
