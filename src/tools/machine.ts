import os from 'node:os';

/** The facts a reader needs to weigh a measurement, read at run time. */
export interface Machine {
  cores: number;
  cpu: string;
  memGiB: number;
  node: string;
  os: string;
  /** All of it on one line, for reports. */
  line: string;
}

export function machine(): Machine {
  const cpus = os.cpus();
  const m = { cores: cpus.length, cpu: cpus[0]?.model ?? 'unknown', memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, os: `${os.type()} ${os.release()}` };
  return { ...m, line: `${m.cores} cores (${m.cpu}), ${m.memGiB} GiB RAM, Node ${m.node}, ${m.os}` };
}
