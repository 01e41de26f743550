/** Where a command writes: its output and its messages (stdout and stderr, or a test's buffers). */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}
