/** A one-line progress display on a terminal (stderr); silent when not a TTY or under --json. */
export class Progress {
  private last = 0;
  private readonly started = Date.now();
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    quiet: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = !quiet && stream.isTTY === true;
  }

  /** `done` of `total` lines (or `fraction` done, when the total is not known in lines); ~10 updates a second. */
  update(done: number, total: number | null, fraction?: number): void {
    const unit = 'lines';
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    const share = fraction ?? (total ? done / total : null);
    const pct = share === null ? '' : ` ${(share * 100).toFixed(0).padStart(3)}%`;
    this.stream.write(`\r\x1b[2K${this.label}${pct} ${fmt(done)} ${unit} (${fmt(rate)} ${unit}/s)`);
  }

  status(text: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    this.stream.write(`\r\x1b[2K${this.label} ${text} (${((now - this.started) / 1000).toFixed(1)} s)`);
  }

  /** A running job: its state, lines partitioned (and their rate), shards matched. */
  job(t: { job: { status: string }; lines: number; shardsDone: number; shardCount: number }): void {
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? Math.round(t.lines / seconds) : 0;
    const shards = t.shardsDone > 0 ? ` · ${t.shardsDone}/${t.shardCount} shards matched` : '';
    this.status(`${t.job.status} · ${fmt(t.lines)} lines partitioned (${fmt(rate)} lines/s)${shards}`);
  }

  done(): void {
    if (this.enabled) this.stream.write('\r\x1b[2K');
  }
}

export function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
