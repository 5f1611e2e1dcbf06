/**
 * Collects items arriving within a short window and hands them over together: the first item
 * opens the window, which closes `windowMs` later, or at once when the items reach `max` (by
 * `sizeOf`, default 1 each). Used on both sides of the issuance queue: claims accepted by one
 * worker go out as one Bull job (ClaimEnqueuer), and jobs taken by one worker go to MySQL as one
 * insert (IssuanceProcessor).
 *
 * `send` owns its items' outcome (each item carries its own resolve/reject): a batch can half
 * succeed, so no single answer fits all of them. It must not reject; if it does anyway, the error
 * goes to `onSendError`.
 */
export interface WindowBatchOptions<T> {
  windowMs: number;
  max: number;
  send: (items: T[]) => Promise<void>;
  sizeOf?: (item: T) => number;
  /**
   * Batches being sent at once, at most (default: no bound). At the bound, items collect until a send
   * ends, and go out then, up to `max`: the batches grow with the time a send takes.
   */
  maxInFlight?: number;
  onSendError?: (error: unknown, items: T[]) => void;
}

export class WindowBatch<T> {
  private items: T[] = [];
  private size = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly sending = new Set<Promise<void>>();

  constructor(private readonly options: WindowBatchOptions<T>) {}

  push(item: T): void {
    this.items.push(item);
    this.size += this.sizeOf(item);
    if (this.sending.size >= this.maxInFlight) return;
    if (this.size >= this.options.max) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.windowMs);
  }

  /** Hands over what was collected so far (up to `max`) without waiting for the window. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.items.length === 0) return;
    let taken = 0;
    let takenSize = 0;
    while (taken < this.items.length && takenSize < this.options.max) takenSize += this.sizeOf(this.items[taken++]);
    const items = this.items.splice(0, taken);
    this.size -= takenSize;
    const sent: Promise<void> = Promise.resolve()
      .then(() => this.options.send(items))
      .catch((error: unknown) => this.options.onSendError?.(error, items))
      .finally(() => {
        const wasAtBound = this.sending.size >= this.maxInFlight;
        this.sending.delete(sent);
        // What collected meanwhile, held by the bound, has waited a whole send already.
        if (wasAtBound && this.items.length > 0) this.flush();
      });
    this.sending.add(sent);
    if (this.items.length > 0 && this.sending.size < this.maxInFlight) {
      if (this.size >= this.options.max) this.flush();
      else this.timer = setTimeout(() => this.flush(), this.options.windowMs);
    }
  }

  /** Flushes, then waits until every batch handed over so far has been sent (shutdown). */
  async drain(): Promise<void> {
    while (this.items.length > 0 || this.sending.size > 0) {
      if (this.items.length > 0 && this.sending.size < this.maxInFlight) this.flush();
      await Promise.all([...this.sending]);
    }
  }

  private get maxInFlight(): number {
    return this.options.maxInFlight ?? Infinity;
  }

  private sizeOf(item: T): number {
    return this.options.sizeOf?.(item) ?? 1;
  }

  /** Items collected and not handed over yet. */
  get collected(): number {
    return this.items.length;
  }
}
