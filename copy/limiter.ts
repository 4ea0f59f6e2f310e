/**
 * A counting semaphore: at most `max` tasks run at once, the rest wait in arrival order. One
 * limiter is shared by every batch of a process, so COLONY_CONCURRENCY bounds the copies in
 * flight however many batches are being worked on.
 */
export class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
