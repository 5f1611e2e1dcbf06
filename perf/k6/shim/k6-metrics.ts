// Stand-in for `k6/metrics`: every sample is kept (value and tags) for the test to read.
const shim = (globalThis as any).__k6shim;

class Metric {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
    shim.metrics[name] ??= [];
  }
  add(value: number, tags?: Record<string, string>): void {
    shim.metrics[this.name].push({ value, tags: tags ?? {} });
  }
}

export class Counter extends Metric {}
export class Gauge extends Metric {}
export class Rate extends Metric {}
export class Trend extends Metric {}
