/**
 * `KUBEPIN_DEBUG=1`: errors keep their stack traces (an app's uncaught policy error, the app's
 * whole output in `kubepin lock`). Without it, users see the findings alone.
 */
export const DEBUG_ENV = 'KUBEPIN_DEBUG';
