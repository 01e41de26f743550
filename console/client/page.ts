import type { ConsoleConfigAnswer } from './answers';

/** What each page gets from the shell. A page returns its cleanup (stops its polling). */
export interface PageContext {
  main: HTMLElement;
  /** The console server's configuration (repos, budgets, mode), loaded once. */
  config: Promise<ConsoleConfigAnswer>;
  navigate(path: string): void;
  /** Tells the shell (and the tests, through `data-ready` on <main>) the page has its first data. */
  ready(): void;
  /** A polite announcement for screen readers (a status change). */
  announce(text: string): void;
}
