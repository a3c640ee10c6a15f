import { IConstruct } from 'constructs';
import { KubepinError } from '../errors';

/** Options passed to `PrePullDaemonSet.addImage` (the agreed API of issue 5). */
export interface PrePullImageOptions {
  /** Pull secrets the pre-puller needs for this image. @default none */
  readonly pullSecrets?: string[];
  /** Nodes to pre-pull on. @default every node the DaemonSet runs on */
  readonly nodeSelector?: Record<string, string>;
  /** Tolerations the pre-puller needs to reach those nodes. @default none */
  readonly tolerations?: object[];
  /** Node affinity of the pods using the image. @default none */
  readonly affinity?: object;
}

interface PrePullDaemonSetLike {
  addImage(image: string, options?: PrePullImageOptions): void;
}

interface PrePullModule {
  PrePullDaemonSet: { of(scope: IConstruct, namespace?: string): PrePullDaemonSetLike };
}

function loadPrePullModule(): PrePullModule | undefined {
  try {
    // Resolved at run time: the pre-pull construct is its own module (issue 5).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('./pre-pull-daemon-set') as PrePullModule;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((e as Error).message).includes('pre-pull-daemon-set')) return undefined;
    throw e;
  }
}

/**
 * Adds `image` to the pre-pull DaemonSet of `scope`'s chart (and `namespace`), creating it on
 * first use. Problems are passed to `report` so the caller lists them with its construct path.
 */
export function addPrePullImage(scope: IConstruct, image: string, options: PrePullImageOptions & { namespace?: string }, report: (message: string) => void): void {
  const mod = loadPrePullModule();
  if (!mod) {
    report('prePull needs the PrePullDaemonSet construct (kubepin/cdk8s), which this build does not include. Fix: upgrade kubepin, or pre-pull the image another way and list it in ImagePolicy.prePulled');
    return;
  }
  const { namespace, ...rest } = options;
  try {
    mod.PrePullDaemonSet.of(scope, namespace).addImage(image, rest);
  } catch (e) {
    if (e instanceof KubepinError || e instanceof Error) report(`cannot pre-pull ${image}: ${e.message}`);
    else throw e;
  }
}
