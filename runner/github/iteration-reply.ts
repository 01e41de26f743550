import { summarizeTests, type TestDelta, type TestRunResult } from '../repo/test-results';

export interface IterationReplyInput {
  runId: string;
  /** The run's requester (`github:<login>` for a GitHub trigger). */
  requester: string;
  branch: string;
  /** The commits this run added to the branch, oldest first. */
  commits: { sha: string; subject: string }[];
  changedFiles: { status: string; path: string }[];
  baseTests: TestRunResult | undefined;
  headTests: TestRunResult | undefined;
  delta: TestDelta;
}

const MAX_FILES = 30;
const MAX_TESTS = 10;
/** GitHub logins: letters, digits and single hyphens. Anything else is not mentioned. */
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

const code = (text: string) => `\`${text.replace(/`/g, "'").replace(/\n/g, ' ')}\``;

/**
 * The reply a `/nightshift` iteration posts on its pull request once it pushed (issue 11 item 3):
 * the commits, the files and the test delta, addressed to whoever asked so GitHub notifies them
 * (an edited comment notifies nobody). File and test names are repository data, shown as code.
 */
export function iterationReply(input: IterationReplyInput): string {
  const login = input.requester.startsWith('github:') ? input.requester.slice('github:'.length) : '';
  const to = LOGIN.test(login) ? `@${login} ` : '';
  const lines = [
    `${to}Nightshift run ${code(input.runId)} pushed ${input.commits.length} commit${input.commits.length === 1 ? '' : 's'} to ${code(input.branch)}:`,
    '',
  ];
  for (const c of input.commits) lines.push(`- ${code(c.sha.slice(0, 12))} ${code(c.subject.slice(0, 120))}`);
  lines.push('', `**Files** (${input.changedFiles.length})`);
  for (const f of input.changedFiles.slice(0, MAX_FILES)) lines.push(`- ${f.status} ${code(f.path)}`);
  if (input.changedFiles.length > MAX_FILES) lines.push(`- and ${input.changedFiles.length - MAX_FILES} more`);
  lines.push('', '**Tests**');
  if (!input.headTests) lines.push('No test command ran.');
  else {
    lines.push(`${input.baseTests ? summarizeTests(input.baseTests) : 'not run'} at base → ${summarizeTests(input.headTests)} at head.`);
    const names = (list: string[]) =>
      `${list.slice(0, MAX_TESTS).map(code).join(', ')}${list.length > MAX_TESTS ? ` and ${list.length - MAX_TESTS} more` : ''}`;
    if (input.delta.newlyFailing.length) lines.push(`Newly failing: ${names(input.delta.newlyFailing)}.`);
    if (input.delta.newlyPassing.length) lines.push(`Newly passing: ${names(input.delta.newlyPassing)}.`);
  }
  return lines.join('\n');
}
