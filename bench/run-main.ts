/** Runs a benchmark script's `main()` when the file is executed directly; a failure sets a non-zero exit code. */
export function runWhenMain(module: NodeModule, main: () => Promise<unknown>): void {
  if (require.main !== module) return;
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
