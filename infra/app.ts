import { ConfigError } from '../core/config/load';
import { createApp } from './create-app';

try {
  createApp();
} catch (err) {
  // A bad config names each bad field; show that, not a stack trace.
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
