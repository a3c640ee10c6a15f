/**
 * Under Pulumi's engine a transform runs behind a gRPC call: when kubepin's policy rejects a
 * resource, the SDK does not see our `ImagePolicyError` but a plain `Error("failed to register new
 * resource … transform failed: ImagePolicyError: …")` made inside `registerResource`, and prints it
 * with its stack and a code frame of the user's program. The finding already says what, where and
 * how to fix it, so that error is turned back into the finding's text before the SDK reports it.
 */
const MARKER = 'ImagePolicyError: ';

let installed = false;

/** Installs (once per process) the listener that strips the engine's wrapping from kubepin's rejections. */
export function reportPolicyRejectionsCleanly(): void {
  if (installed) return;
  installed = true;
  const clean = (error: unknown): void => {
    if (!(error instanceof Error)) return;
    const at = error.message.indexOf(MARKER);
    if (at < 0 || !error.message.startsWith('failed to register new resource')) return;
    error.message = error.message.slice(at + MARKER.length);
    error.stack = undefined;
    // What `pulumi.RunError` sets on itself: the SDK's handler then logs the message alone.
    (error as { __pulumiRunError?: boolean }).__pulumiRunError = true;
  };
  // First in line, so the SDK's own handlers (registered before any program code) see the cleaned error.
  process.prependListener('unhandledRejection', clean);
  process.prependListener('uncaughtException', clean);
}
