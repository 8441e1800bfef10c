/** Reading pgbench's output: its rate line and its per-transaction log (`-l`). */

/** The `tps = … (without initial connection time)` figure. */
export function pgbenchTps(stdout: string): number | undefined {
  const match = /^tps = ([0-9.]+) \(without initial connection time\)/m.exec(stdout);
  return match ? Number(match[1]) : undefined;
}

/**
 * Latencies in milliseconds from a per-transaction log: lines `client_id transaction_no time script_no
 * time_epoch time_us`, where `time` is the transaction's latency in microseconds (or `skipped`/`failed`).
 */
export function pgbenchLatenciesMs(log: string): number[] {
  const latencies: number[] = [];
  for (const line of log.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 6) continue;
    const micros = Number(fields[2]);
    if (Number.isFinite(micros)) latencies.push(micros / 1_000);
  }
  return latencies;
}
