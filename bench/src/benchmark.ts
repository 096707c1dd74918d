/** What each benchmark module exports, for run.ts to list and run. */
export interface Benchmark {
  name: string;
  describe: string;
  /** `work`: a scratch directory of its own, made before and removed after by the runner. */
  run(options: { rounds: number; work: string }): Promise<void>;
}
