import { RegistryError } from '../core/findings/registry-error';

/** How a required signature failed. */
export type SignatureFailureKind = 'signature-missing' | 'signature-invalid' | 'signature-unsupported';

/** A required signature is missing or does not verify; the message says why and how to fix it. */
export class SignatureVerificationError extends RegistryError {
  constructor(
    /** What went wrong. */
    public readonly signatureKind: SignatureFailureKind,
    host: string,
    message: string,
  ) {
    super('bad-response', host, message);
  }
}
