// The kubelet's CredentialProviderConfig: its types, API versions and kubepin's provider presets.
/** `apiVersion` of the kubelet's `--image-credential-provider-config` file that kubepin writes. */
export const CREDENTIAL_PROVIDER_CONFIG_API_VERSION = 'kubelet.config.k8s.io/v1';
/** `apiVersion` of the exec protocol spoken with a provider plugin that kubepin writes. */
export const CREDENTIAL_PROVIDER_API_VERSION = 'credentialprovider.kubelet.k8s.io/v1';
/** Config file apiVersions the kubelet decodes. */
export const CONFIG_API_VERSIONS = ['kubelet.config.k8s.io/v1', 'kubelet.config.k8s.io/v1beta1', 'kubelet.config.k8s.io/v1alpha1'] as const;
/** Plugin protocol apiVersions the kubelet speaks. */
export const PROVIDER_API_VERSIONS = ['credentialprovider.kubelet.k8s.io/v1', 'credentialprovider.kubelet.k8s.io/v1alpha1', 'credentialprovider.kubelet.k8s.io/v1beta1'] as const;
/** Cache duration kubepin writes when none is given (what the cloud providers ship). */
export const DEFAULT_CACHE_DURATION = '12h';

/** One environment variable passed to a provider plugin (`ExecEnvVar`). */
export interface ExecEnvVar {
  /** Variable name. */
  readonly name: string;
  /** Value (the config file is readable by node admins: put no secret here). */
  readonly value: string;
}

/** Service-account-token mode of a provider (kubelet 1.33+, config `kubelet.config.k8s.io/v1` only). */
export interface ServiceAccountTokenAttributes {
  /** Audience of the token the kubelet requests for the pod's service account. */
  readonly serviceAccountTokenAudience: string;
  /** Whether the plugin is only called for pods that have a service account. */
  readonly requireServiceAccount: boolean;
  /** `ServiceAccount` or `Token`: what the plugin's credentials are cached by. */
  readonly cacheType: 'ServiceAccount' | 'Token';
  /** Service account annotations that must be present for the plugin to be called. */
  readonly requiredServiceAccountAnnotationKeys?: readonly string[];
  /** Service account annotations passed to the plugin when present. */
  readonly optionalServiceAccountAnnotationKeys?: readonly string[];
}

/** One entry of `providers[]` as the kubelet reads it. */
export interface CredentialProvider {
  /** Executable name in the kubelet's `--image-credential-provider-bin-dir`. */
  readonly name: string;
  /** Globs of the images the plugin is called for (host labels glob-matched, port exact, path a prefix). */
  readonly matchImages: readonly string[];
  /** How long credentials are cached when the plugin's answer sets no duration (Go duration, e.g. `12h`). */
  readonly defaultCacheDuration: string;
  /** Exec protocol version, e.g. `credentialprovider.kubelet.k8s.io/v1`. */
  readonly apiVersion: string;
  /** Command-line arguments of the plugin. */
  readonly args?: readonly string[];
  /** Environment of the plugin (added to the kubelet's own). */
  readonly env?: readonly ExecEnvVar[];
  /** Service-account-token mode. */
  readonly tokenAttributes?: ServiceAccountTokenAttributes;
}

/** The kubelet's `CredentialProviderConfig` file. */
export interface CredentialProviderConfig {
  /** Always `CredentialProviderConfig`. */
  readonly kind: 'CredentialProviderConfig';
  /** `kubelet.config.k8s.io/v1` (or v1beta1, v1alpha1). */
  readonly apiVersion: string;
  /** The plugins, in the order the kubelet registers them. */
  readonly providers: readonly CredentialProvider[];
}

/** What a user says about one provider; kubepin computes `matchImages` from the app's images. */
export interface CredentialProviderSpec {
  /** Executable name of the plugin, or a preset: `ecr`, `gcp`, `acr`. */
  readonly name: string;
  /** Registry keys whose images this provider serves, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com`, `*.azurecr.io`; `matchImages` never reaches past them. */
  readonly registries: readonly string[];
  /** Write these `matchImages` instead of computing them (they are still checked against the app's images). @default - computed */
  readonly matchImages?: readonly string[];
  /** @default "12h" */
  readonly defaultCacheDuration?: string;
  /** @default "credentialprovider.kubelet.k8s.io/v1" */
  readonly apiVersion?: string;
  /** @default - the preset's arguments, or none */
  readonly args?: readonly string[];
  /** Plugin environment, as a map or a list. @default - the preset's, or none */
  readonly env?: Readonly<Record<string, string>> | readonly ExecEnvVar[];
  /** @default - none */
  readonly tokenAttributes?: ServiceAccountTokenAttributes;
}

/** A known provider plugin: its executable and the registries it can authenticate to. */
export interface ProviderPreset {
  /** Executable name. */
  readonly name: string;
  /** Default arguments. */
  readonly args?: readonly string[];
  /** Registry globs the plugin can answer for; an assigned image outside them gets a warning. */
  readonly serves: readonly string[];
}

/** Presets for the cloud providers' plugins (names as the cloud-provider projects ship them). */
export const PROVIDER_PRESETS: Readonly<Record<string, ProviderPreset>> = {
  ecr: {
    name: 'ecr-credential-provider',
    serves: ['*.dkr.ecr.*.amazonaws.com', '*.dkr.ecr.*.amazonaws.com.cn', '*.dkr.ecr-fips.*.amazonaws.com', '*.dkr.ecr.*.c2s.ic.gov', '*.dkr.ecr.*.sc2s.sgov.gov', 'public.ecr.aws'],
  },
  gcp: {
    name: 'auth-provider-gcp',
    args: ['get-credentials', '--v=3'],
    serves: ['container.cloud.google.com', 'gcr.io', '*.gcr.io', '*.pkg.dev'],
  },
  acr: {
    name: 'acr-credential-provider',
    args: ['/etc/kubernetes/azure.json'],
    serves: ['*.azurecr.io', '*.azurecr.cn', '*.azurecr.de', '*.azurecr.us'],
  },
};

/** One problem found in a node-side config; never contains a credential. */
export interface NodeConfigProblem {
  /** `error`: the kubelet refuses the file or a pattern can never match; `warning`: it works, but not as written. */
  readonly severity: 'error' | 'warning';
  /** Field path, e.g. `providers[0].matchImages[1]`. */
  readonly path: string;
  /** What is wrong and how to fix it. */
  readonly message: string;
  /** The file, when read from one. */
  readonly file?: string;
  /** 1-based line, when known. */
  readonly line?: number;
}

/** Formats a problem as `file:line: error path: message` (`file: error: message` for the whole file). */
export function formatNodeConfigProblem(p: NodeConfigProblem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}` : ''}: ` : '';
  return `${where}${p.severity}${p.path ? ` ${p.path}` : ''}: ${p.message}`;
}
