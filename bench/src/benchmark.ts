/** What each benchmark module exports, for run.ts to list and run. */
export interface Benchmark {
  name: string;
  describe: string;
  run(options: { rounds: number }): Promise<void>;
}
