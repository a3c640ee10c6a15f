/** The kubelet's image pull back-off: first delay in seconds (`backOffPeriod`). */
export const IMAGE_BACKOFF_INITIAL_SECONDS = 10;
/** The back-off cap in seconds (`MaxContainerBackOff`). */
export const IMAGE_BACKOFF_MAX_SECONDS = 300;
/** Seconds without a failure after which the back-off starts again at 10 s. */
export const IMAGE_BACKOFF_RESET_SECONDS = 600;

/**
 * The waits between pull attempts while a container sits in `ImagePullBackOff`, per pod and
 * image: 10 s doubling up to the 300 s cap, then 300 s for ever. Returns the first `count`.
 *
 * @see https://github.com/kubernetes/kubernetes/blob/master/pkg/kubelet/images/image_manager.go (the back-off per pod and image)
 * @see https://kubernetes.io/docs/concepts/containers/images/#imagepullbackoff
 */
export function imagePullBackoffSchedule(count = 7): number[] {
  const out: number[] = [];
  let delay = IMAGE_BACKOFF_INITIAL_SECONDS;
  for (let i = 0; i < count; i++) {
    out.push(delay);
    delay = Math.min(delay * 2, IMAGE_BACKOFF_MAX_SECONDS);
  }
  return out;
}

/** `10s, 20s, 40s, 80s, 160s, then every 300s` for messages. */
export function describeBackoff(): string {
  const steps = imagePullBackoffSchedule(6);
  return `${steps.slice(0, 5).map((s) => `${s}s`).join(', ')}, then every ${steps[5]}s`;
}
