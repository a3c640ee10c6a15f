import { RegistryError } from '../core/findings/registry-error';
import { sanitizeRegistryText } from './registry-text';
import { HttpAnswer, TransportError, toRegistryError } from './transport';

/** Bounds of {@link RetryPolicy}. */
export interface RetryBounds {
  /** Retries after the first attempt. */
  readonly retries: number;
  /** First back-off delay; doubles per retry. */
  readonly backoffMs: number;
  /** Longest back-off delay. */
  readonly maxBackoffMs: number;
  /** Longest `Retry-After` honoured. */
  readonly maxRetryAfterMs: number;
  /** Requests to one host that may time out in a row before the host is taken for down. */
  readonly maxConsecutiveTimeouts: number;
}

/**
 * Retries 5xx, 408, 429 (after `Retry-After`), resets and timeouts with capped exponential
 * back-off, and stops asking a host whose requests keep timing out.
 */
export class RetryPolicy {
  /** Retries made so far, for statistics. */
  public retried = 0;
  /** Host → requests that timed out in a row (reset by any answer). */
  private readonly timeoutStreaks = new Map<string, number>();

  constructor(private readonly bounds: RetryBounds) {}

  /** Runs `call` (one request to `host` about `what`) with the retry rules; the answer is a status below 500 (other than 408 and 429). */
  public async run(host: string, what: string, call: () => Promise<HttpAnswer>): Promise<HttpAnswer> {
    const { retries, maxConsecutiveTimeouts, maxRetryAfterMs } = this.bounds;
    const streak = this.timeoutStreaks.get(host) ?? 0;
    if (streak >= maxConsecutiveTimeouts) {
      throw new RegistryError('timeout', host, `${what}: skipped: ${streak} requests to ${host} in a row timed out (each after ${retries + 1} attempts), so it looks down. Fix: check that ${host} is reachable, then run again`);
    }
    let lastError: RegistryError | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) this.retried++;
      let res: HttpAnswer;
      try {
        res = await call();
      } catch (e) {
        const registryError = toRegistryError(e, host, what);
        const code = e instanceof TransportError ? e.code : 'other';
        if ((code === 'reset' || code === 'timeout') && attempt < retries) {
          lastError = registryError;
          await sleep(this.backoff(attempt));
          continue;
        }
        if (code === 'timeout') this.timeoutStreaks.set(host, (this.timeoutStreaks.get(host) ?? 0) + 1);
        throw registryError;
      }
      this.timeoutStreaks.delete(host);
      if (res.status === 429) {
        const wait = retryAfterMs(res.headers['retry-after']) ?? this.backoff(attempt);
        if (wait > maxRetryAfterMs || attempt >= retries) {
          throw new RegistryError('rate-limited', host, `${what}: ${host} is rate-limiting (HTTP 429${res.headers['retry-after'] ? `, Retry-After ${sanitizeRegistryText(String(res.headers['retry-after']), 40)}` : ''}); try again later or use a mirror`, 429);
        }
        await sleep(wait);
        continue;
      }
      if ((res.status >= 500 || res.status === 408) && attempt < retries) {
        lastError = new RegistryError('server-error', host, `${what}: ${host} answered HTTP ${res.status}`, res.status);
        await sleep(this.backoff(attempt));
        continue;
      }
      if (res.status >= 500 || res.status === 408) {
        throw new RegistryError('server-error', host, `${what}: ${host} answered HTTP ${res.status} ${retries + 1} times; giving up`, res.status);
      }
      return res;
    }
    throw lastError ?? new RegistryError('network', host, `${what}: no answer from ${host}`);
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.bounds.maxBackoffMs, this.bounds.backoffMs * 2 ** attempt);
    return base / 2 + Math.random() * (base / 2);
  }
}

function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
