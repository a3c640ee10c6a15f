import * as pulumi from '@pulumi/pulumi';

/*
 * The SDK keeps each resource's type, name and children on fields of its own (no public API reads
 * them in the program): the one place kubepin reads them.
 */

interface ResourceInternals {
  __childResources?: Set<pulumi.Resource>;
  __pulumiType?: string;
  __name?: string;
}

const internals = (resource: pulumi.Resource) => resource as unknown as ResourceInternals;

/** The resources created with `resource` as their parent. */
export function childrenOf(resource: pulumi.Resource): pulumi.Resource[] {
  const children = internals(resource).__childResources;
  return children ? [...children] : [];
}

/** The resource's type token (`kubernetes:apps/v1:Deployment`); empty when the SDK has none. */
export function typeOf(resource: pulumi.Resource): string {
  return internals(resource).__pulumiType ?? '';
}

/** `type "name"`, for messages. */
export function describeResource(resource: pulumi.Resource): string {
  const r = internals(resource);
  return `${r.__pulumiType ?? 'resource'} "${r.__name ?? '?'}"`;
}

/** The resource of `type` named `name` in the tree under `root` (breadth first, bounded). */
export function findResource(root: pulumi.Resource | undefined, type: string, name: string): pulumi.Resource | undefined {
  const queue = root ? [root] : [];
  for (let i = 0; i < queue.length && i < 1_000_000; i++) {
    const node = queue[i];
    if (internals(node).__pulumiType === type && internals(node).__name === name) return node;
    queue.push(...childrenOf(node));
  }
  return undefined;
}
