import type { ImageLocation } from '../registry/lock-images';
import type { RemoteFinding } from './verify-remote';

/** Why verification failed for an image. Stable: tools may switch on it. */
export type VerifyCode = 'unreadable-manifest' | 'invalid-reference' | 'unpinned' | 'not-in-lock' | 'digest-mismatch' | 'signature-not-locked' | RemoteFinding['code'];

/** One verification problem. */
export interface VerifyFinding {
  /** What is wrong. */
  readonly code: VerifyCode;
  /** The image as written (or the locked reference for remote findings). */
  readonly image: string;
  /** Where it is used, when it comes from a manifest. */
  readonly location?: ImageLocation;
  /** The file, for a manifest that cannot be read. */
  readonly file?: string;
  /** Its line, when known. */
  readonly line?: number;
  /** The message, with the fix. */
  readonly message: string;
  /** For a locked digest that will not pull: the digest, its platform, and what the kubelet will report. */
  readonly digest?: string;
  readonly platform?: string;
  readonly kubelet?: string;
  /** For a registry that could not be reached (--remote): its host, and the cause in words. */
  readonly registry?: string;
  readonly cause?: string;
}
