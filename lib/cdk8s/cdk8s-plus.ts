/**
 * Recognizes cdk8s-plus constructs of any major (cdk8s-plus-25 … -33 and later) without loading
 * one: an app may use any major, or several at once, and kubepin must not require the one it
 * was built against. cdk8s-plus is a jsii library, so every class carries its fully qualified
 * name (`cdk8s-plus-33.AbstractPod`) under the `jsii.rtti` symbol.
 */

const JSII_RTTI = Symbol.for('jsii.rtti');
const ABSTRACT_POD = /^cdk8s-plus-\d+\.AbstractPod$/;
const byPrototype = new WeakMap<object, boolean>();

/**
 * True when `c` is a cdk8s-plus `AbstractPod` (Pod, Deployment, StatefulSet, Job, DaemonSet…)
 * of any major: those write `imagePullPolicy: Always` on every container unless told otherwise.
 */
export function isCdk8sPlusPod(c: unknown): boolean {
  if (typeof c !== 'object' || c === null) return false;
  const proto = Object.getPrototypeOf(c) as object | null;
  if (proto === null) return false;
  let known = byPrototype.get(proto);
  if (known === undefined) {
    known = false;
    for (let p: object | null = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
      const rtti = (p.constructor as unknown as Record<symbol, { fqn?: unknown } | undefined>)?.[JSII_RTTI];
      if (rtti && typeof rtti.fqn === 'string' && ABSTRACT_POD.test(rtti.fqn)) {
        known = true;
        break;
      }
    }
    byPrototype.set(proto, known);
  }
  return known;
}

/** The value cdk8s-plus writes when the user chose no pull policy (every major spells it so). */
export const CDK8S_PLUS_IMPLICIT_PULL_POLICY = 'Always';
