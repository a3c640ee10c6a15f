/** Limits concurrent tasks; waiters run in FIFO order. */
export class Limiter {
  private active = 0;
  /** Waiters released but not yet running (they resume on a later microtask). */
  private starting = 0;
  private readonly queue: Array<() => void> = [];
  constructor(private limit: number) {}

  /** Allows `limit` tasks at once from now on, starting waiters the higher limit lets in. */
  public setLimit(limit: number): void {
    this.limit = limit;
    while (this.active + this.starting < this.limit && this.queue.length > 0) {
      this.starting++;
      this.queue.shift()!();
    }
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active + this.starting >= this.limit) {
      await new Promise<void>((resolve) => this.queue.push(resolve));
      this.starting--;
    }
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      const next = this.queue.shift();
      if (next) {
        this.starting++;
        next();
      }
    }
  }
}
