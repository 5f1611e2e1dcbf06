// Stand-in for `k6/data`.
export class SharedArray<T> extends Array<T> {
  constructor(_name: string, load: () => T[]) {
    super();
    this.push(...load());
  }
}
