/**
 * Dinic's maximum flow on a small integer network, used to split the planned slot loads between
 * the cars. Capacities are integer Wh, so the flow is exact.
 */
export class FlowNetwork {
  private readonly head: Int32Array;
  private to: number[] = [];
  private next: number[] = [];
  private cap: number[] = [];
  private undo: number[] | null = null;
  private readonly level: Int32Array;
  private readonly cursor: Int32Array;

  constructor(readonly nodes: number) {
    this.head = new Int32Array(nodes).fill(-1);
    this.level = new Int32Array(nodes);
    this.cursor = new Int32Array(nodes);
  }

  /** Adds an edge with `flow` already on it (a warm start); returns its id. */
  addEdge(from: number, to: number, capacity: number, flow = 0): number {
    const id = this.to.length;
    this.to.push(to, from);
    this.cap.push(capacity - flow, flow);
    this.next.push(this.head[from]!, this.head[to]!);
    this.head[from] = id;
    this.head[to] = id + 1;
    return id;
  }

  /** Flow currently on the edge `id`. */
  flow(id: number): number {
    return this.cap[id + 1]!;
  }

  /** Sets the edge's capacity and flow (flow ≤ capacity). */
  set(id: number, capacity: number, flow: number): void {
    this.write(id, capacity - flow);
    this.write(id + 1, flow);
  }

  capacity(id: number): number {
    return this.cap[id]! + this.cap[id + 1]!;
  }

  /** Starts recording changes, so that rollback() can undo them (a trial change). */
  begin(): void {
    this.undo = [];
  }

  /** Undoes every change since begin(). */
  rollback(): void {
    const undo = this.undo ?? [];
    for (let k = undo.length - 2; k >= 0; k -= 2) this.cap[undo[k]!] = undo[k + 1]!;
    this.undo = null;
  }

  /** Keeps the changes since begin(). */
  commit(): void {
    this.undo = null;
  }

  private write(i: number, value: number): void {
    this.undo?.push(i, this.cap[i]!);
    this.cap[i] = value;
  }

  /** Pushes as much more flow as possible from source to sink; returns the amount added. */
  maxFlow(source: number, sink: number): number {
    let total = 0;
    while (this.bfs(source, sink)) {
      this.cursor.set(this.head);
      for (let pushed = this.dfs(source, sink, Infinity); pushed > 0; pushed = this.dfs(source, sink, Infinity)) total += pushed;
    }
    return total;
  }

  private bfs(source: number, sink: number): boolean {
    this.level.fill(-1);
    this.level[source] = 0;
    const queue = [source];
    for (let q = 0; q < queue.length; q++) {
      const u = queue[q]!;
      for (let e = this.head[u]!; e !== -1; e = this.next[e]!) {
        const v = this.to[e]!;
        if (this.cap[e]! > 0 && this.level[v] === -1) {
          this.level[v] = this.level[u]! + 1;
          queue.push(v);
        }
      }
    }
    return this.level[sink] !== -1;
  }

  private dfs(u: number, sink: number, limit: number): number {
    if (u === sink) return limit;
    for (; this.cursor[u] !== -1; this.cursor[u] = this.next[this.cursor[u]!]!) {
      const e = this.cursor[u]!;
      const v = this.to[e]!;
      if (this.cap[e]! > 0 && this.level[v] === this.level[u]! + 1) {
        const pushed = this.dfs(v, sink, Math.min(limit, this.cap[e]!));
        if (pushed > 0) {
          this.write(e, this.cap[e]! - pushed);
          this.write(e ^ 1, this.cap[e ^ 1]! + pushed);
          return pushed;
        }
      }
    }
    return 0;
  }
}
