import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { sameRealm } from './pin';

type Ctor = new (name: string, args: any, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

// The typed classes give users the provider's await logic and schema per kind.
const CLASSES: Record<string, Ctor> = {
  'v1/Secret': k8s.core.v1.Secret,
  'v1/ServiceAccount': k8s.core.v1.ServiceAccount,
  'v1/Pod': k8s.core.v1.Pod,
  'apps/v1/DaemonSet': k8s.apps.v1.DaemonSet,
  'apps/v1/Deployment': k8s.apps.v1.Deployment,
  'apps/v1/StatefulSet': k8s.apps.v1.StatefulSet,
};

/**
 * Creates the `@pulumi/kubernetes` resource for one Kubernetes object given as JSON (with
 * Inputs allowed inside): the typed class for the kinds kubepin makes, a `CustomResource` otherwise.
 */
export function createObject(name: string, object: pulumi.Inputs, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
  const { apiVersion, kind, ...rest } = sameRealm(object) as { apiVersion: string; kind: string };
  const ctor = CLASSES[`${apiVersion}/${kind}`];
  if (ctor) return new ctor(name, rest, opts);
  return new k8s.apiextensions.CustomResource(name, { apiVersion, kind, ...rest }, opts);
}
