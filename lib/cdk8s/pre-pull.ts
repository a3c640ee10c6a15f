import { Chart } from 'cdk8s';
import { IConstruct } from 'constructs';
import { KubepinError } from '../util/errors';
import { PrePullDaemonSet } from './pre-pull-daemon-set';

/** Options passed to {@link PrePullDaemonSet.addImage}. */
export interface PrePullPlacement {
  /** Pull secrets the pre-puller needs for this image. @default none */
  readonly pullSecrets?: string[];
  /** Nodes to pre-pull on. @default every node the DaemonSet runs on */
  readonly nodeSelector?: Record<string, string>;
  /** Tolerations the pre-puller needs to reach those nodes. @default none */
  readonly tolerations?: object[];
  /** Node affinity of the pods using the image. @default none */
  readonly affinity?: object;
  /** Namespace of the pre-pull DaemonSet. @default the chart's namespace */
  readonly namespace?: string;
}

/**
 * Adds `image` to the pre-pull DaemonSet of `scope`'s chart (and namespace), creating it on
 * first use, and returns it. Problems are passed to `report` so the caller lists them with its
 * construct path.
 */
export function addPrePullImage(scope: IConstruct, image: string, options: PrePullPlacement, report: (message: string) => void): PrePullDaemonSet | undefined {
  const { namespace, ...rest } = options;
  try {
    Chart.of(scope);
  } catch {
    report(`cannot pre-pull ${image}: the pre-pull DaemonSet belongs to a chart and ${scope.node.path || 'the app'} is not in one. Fix: put the ImagePolicy with prePulled on a Chart, or call PrePullDaemonSet.of(chart).addImage(…)`);
    return undefined;
  }
  try {
    const prePuller = PrePullDaemonSet.of(scope, namespace);
    prePuller.addImage(image, rest);
    return prePuller;
  } catch (e) {
    if (e instanceof KubepinError) report(`cannot pre-pull ${image}: ${e.message}`);
    else throw e;
    return undefined;
  }
}
