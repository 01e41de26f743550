/**
 * `nightshift logs <id> | head -1`: once the reader closes the pipe, further writes fail with EPIPE.
 * That is the reader saying "enough", not an error of ours: exit quietly with 0, no stack trace.
 */
export function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream, exit: (code: number) => void = (code) => process.exit(code)): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') exit(0);
    else throw err;
  });
}
