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
    this.size += this.options.sizeOf?.(item) ?? 1;
    if (this.size >= this.options.max) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.windowMs);
  }

  /** Hands over what was collected so far without waiting for the window. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const items = this.items;
    this.items = [];
    this.size = 0;
    if (items.length === 0) return;
    const sent: Promise<void> = Promise.resolve()
      .then(() => this.options.send(items))
      .catch((error: unknown) => this.options.onSendError?.(error, items))
      .finally(() => this.sending.delete(sent));
    this.sending.add(sent);
  }

  /** Flushes, then waits until every batch handed over so far has been sent (shutdown). */
  async drain(): Promise<void> {
    this.flush();
    while (this.sending.size > 0) await Promise.all([...this.sending]);
  }

  /** Items collected and not handed over yet. */
  get collected(): number {
    return this.items.length;
  }
}
