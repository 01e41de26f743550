import '../core/polyfills';
import { exitQuietlyOnClosedPipe } from './closed-pipe';
import { runCli } from './program';

exitQuietlyOnClosedPipe(process.stdout);
exitQuietlyOnClosedPipe(process.stderr);

// bin/nightshift.js runs this file through tsx; the exit code is the command's.
runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
