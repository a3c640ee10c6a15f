import { RegistryClient } from '../registry/client';
import { ChainedCredentials, KeyringCredentials } from '../registry/credentials';
import { RegistryError } from '../core/findings/registry-error';
import { SignaturePolicy } from '../signatures/policy';
import { SignatureVerificationError, SignatureVerifier } from '../signatures/verifier';
import { CheckFinding, ImagePullPlan } from './check';

/** Options of {@link probeSignatures}. */
export interface SignatureProbeOptions {
  /** Hosts reached over plain HTTP. @default none (loopback always may) */
  readonly insecureRegistries?: readonly string[];
  /** Extra CA certificates (PEM). @default system CAs */
  readonly ca?: string | Buffer;
  /** Per-request timeout. @default 10000 */
  readonly timeoutMs?: number;
}

/**
 * `kubepin check --online`: predicts what `kubepin verify --remote` (and a signature-verifying
 * admission controller) will say about the images `policy` requires to be signed. Each digest
 * is fetched with the credentials of the pods that use it; an image referenced by tag only is
 * resolved first (the tag's current digest is what would be pulled).
 */
export async function probeSignatures(plans: readonly ImagePullPlan[], policy: SignaturePolicy, options: SignatureProbeOptions = {}): Promise<CheckFinding[]> {
  const covered = plans.filter((p) => policy.requirementFor(p.reference) !== undefined);
  if (covered.length === 0) return [];
  const keyrings = [...new Set(covered.map((p) => p.keyring))];
  const client = new RegistryClient({
    credentials: new ChainedCredentials(...keyrings.map((k) => new KeyringCredentials(k))),
    insecureRegistries: options.insecureRegistries,
    ca: options.ca,
    timeoutMs: options.timeoutMs,
    retries: 1,
  });
  const verifier = new SignatureVerifier(client);
  // One verification per image, however many pods use it.
  const results = new Map<string, Promise<string | undefined>>();
  const verify = (plan: ImagePullPlan): Promise<string | undefined> => {
    const key = plan.reference.toString();
    let pending = results.get(key);
    if (!pending) {
      pending = (async () => {
        const ref = plan.reference;
        const digest = ref.digest ?? (await client.resolve(ref)).digest;
        await verifier.verify(ref, digest, policy.requirementFor(ref)!);
        return undefined;
      })().catch((e) => {
        if (e instanceof SignatureVerificationError || e instanceof RegistryError) return e.message;
        throw e;
      });
      results.set(key, pending);
    }
    return pending;
  };
  try {
    const findings: CheckFinding[] = [];
    for (const plan of covered) {
      const problem = await verify(plan);
      if (problem === undefined) continue;
      findings.push({
        code: 'signature-invalid',
        severity: 'error',
        object: plan.object,
        path: plan.path,
        image: plan.image,
        message: `${problem} (kubepin verify --remote and signature-verifying admission controllers will refuse it)`,
        ...(plan.file !== undefined ? { file: plan.file } : {}),
        ...(plan.line !== undefined ? { line: plan.line } : {}),
      });
    }
    return findings;
  } finally {
    client.close();
  }
}
