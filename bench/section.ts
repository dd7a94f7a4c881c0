/** What every section of `npm run bench` is handed. */
export interface SectionContext {
  /** Short points, to check the bench works; its figures are marked as not to be trusted. */
  quick: boolean;
  /** The command line of this run, as someone would retype it. */
  command: string;
  /** Seconds of the issue-3 overload run. */
  overloadS: number;
  /** A progress line (stderr). */
  say: (line: string) => void;
}
