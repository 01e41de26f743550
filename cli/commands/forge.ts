import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Argument, type Command } from 'commander';
import { RepoName } from '../../core/config/schema';
import { ForgePermission, setCollaborator } from '../../local/forge/forge-records';
import { importCheckout } from '../../local/forge/forge-import';
import { suggestedRepoEntry } from '../../local/forge/repo-entry';
import { issueForgeToken } from '../../lambdas/github/forge-tokens';
import { ensureHome, resolveHome } from '../../local/home';

/**
 * `nightshift forge add|issue|label|comment|merge|close|allow`: act on the running local forge as a person, for
 * trying the GitHub loop locally (docs/local-mode.md). The forge delivers the matching webhooks to
 * the local platform. Runs against NIGHTSHIFT_HOME (default `.nightshift`); writes go through the
 * forge's REST API with a short-lived token for `--as <login>`.
 */
export interface ForgeCommandContext {
  out: (text: string) => void;
  done: (exitCode: number) => void;
  env?: NodeJS.ProcessEnv;
}

const homeOf = (env: NodeJS.ProcessEnv) =>
  resolveHome(env.NIGHTSHIFT_HOME && env.NIGHTSHIFT_HOME !== '' ? env.NIGHTSHIFT_HOME : '.nightshift');

function forgeHome(env: NodeJS.ProcessEnv) {
  const home = homeOf(env);
  const urlFile = join(home.forge, '.url');
  if (!existsSync(urlFile)) throw new Error(`no local forge is running for ${home.root} (start it with: nightshift dev)`);
  return { forgeRoot: home.forge, url: readFileSync(urlFile, 'utf8').trim() };
}

async function call(
  env: NodeJS.ProcessEnv,
  repo: string,
  login: string,
  method: string,
  path: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const { forgeRoot, url } = forgeHome(env);
  const { token } = issueForgeToken(forgeRoot, repo, null, 300, new Date(), login);
  const response = await fetch(`${url}/repos/${repo}${path}`, {
    method,
    headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`the forge answered ${response.status}: ${String(answer.message ?? '')}`);
  return answer;
}

const issueNumber = (text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error('the issue or pull request number must be a whole number greater than 0');
  return n;
};

export function registerForgeCommand(program: Command, context: ForgeCommandContext): Command {
  const env = context.env ?? process.env;
  const forge = program
    .command('forge')
    .description('act on the local forge as a person (issues, labels, comments), to try the GitHub loop locally');
  const as = (cmd: Command) => cmd.option('--as <login>', 'who does it (a forge user; the repository owner is admin)', 'forge-user');

  forge
    .command('add')
    .description(
      'put a repository of your own into the local forge, from a git checkout (its current branch and history), and print its repos[] entry for nightshift.config.json',
    )
    .addArgument(new Argument('<repo>', 'the name it gets in the forge, owner/name'))
    .addArgument(new Argument('[dir]', 'the git checkout (default: the current directory)'))
    .action(async (repo: string, dir: string | undefined) => {
      const home = homeOf(env);
      const directory = resolve(dir ?? process.cwd());
      // Refusals (name, existing repository, not a work tree) are checked before the home is touched.
      const imported = importCheckout(home.forge, repo, directory, () => ensureHome(home));
      context.out(
        `added ${imported.repo} to the local forge (${imported.bare}), branch ${imported.branch} at ${imported.commit.slice(0, 12)}`,
      );
      context.out('add this entry to "repos" in nightshift.config.json (then restart nightshift dev):');
      context.out(JSON.stringify(suggestedRepoEntry(imported.repo, directory), null, 2));
      context.done(0);
    });

  as(
    forge
      .command('issue')
      .description('open an issue')
      .addArgument(new Argument('<repo>'))
      .addArgument(new Argument('<title>'))
      .addArgument(new Argument('[body]')),
  ).action(async (repo: string, title: string, body: string | undefined, options: { as: string }) => {
    const issue = await call(env, RepoName.parse(repo), options.as, 'POST', '/issues', { title, body: body ?? '' });
    context.out(`opened issue #${String(issue.number)} of ${repo}`);
    context.done(0);
  });
  as(
    forge
      .command('label')
      .description('add a label to an issue (the trigger label starts a run)')
      .addArgument(new Argument('<repo>'))
      .addArgument(new Argument('<number>'))
      .addArgument(new Argument('<label>')),
  ).action(async (repo: string, number: string, label: string, options: { as: string }) => {
    await call(env, RepoName.parse(repo), options.as, 'POST', `/issues/${issueNumber(number)}/labels`, { labels: [label] });
    context.out(`labelled ${repo}#${number} ${label}`);
    context.done(0);
  });
  as(
    forge
      .command('comment')
      .description('comment on an issue or pull request (`/nightshift <instructions>` iterates on a PR)')
      .addArgument(new Argument('<repo>'))
      .addArgument(new Argument('<number>'))
      .addArgument(new Argument('<text>')),
  ).action(async (repo: string, number: string, text: string, options: { as: string }) => {
    await call(env, RepoName.parse(repo), options.as, 'POST', `/issues/${issueNumber(number)}/comments`, { body: text });
    context.out(`commented on ${repo}#${number}`);
    context.done(0);
  });
  as(
    forge
      .command('merge')
      .description('merge a pull request (the forge delivers pull_request.closed, merged: the outcome lands on its runs)')
      .addArgument(new Argument('<repo>'))
      .addArgument(new Argument('<number>')),
  ).action(async (repo: string, number: string, options: { as: string }) => {
    await call(env, RepoName.parse(repo), options.as, 'PUT', `/pulls/${issueNumber(number)}/merge`, {});
    context.out(`merged ${repo}#${number}`);
    context.done(0);
  });
  as(
    forge
      .command('close')
      .description('close a pull request without merging it')
      .addArgument(new Argument('<repo>'))
      .addArgument(new Argument('<number>')),
  ).action(async (repo: string, number: string, options: { as: string }) => {
    await call(env, RepoName.parse(repo), options.as, 'PATCH', `/pulls/${issueNumber(number)}`, { state: 'closed' });
    context.out(`closed ${repo}#${number}`);
    context.done(0);
  });
  forge
    .command('allow')
    .description('give a forge user a permission on a repository (who may trigger runs: write, maintain, admin)')
    .addArgument(new Argument('<repo>'))
    .addArgument(new Argument('<login>'))
    .addArgument(new Argument('<permission>').choices(ForgePermission.options))
    .action(async (repo: string, login: string, permission: ForgePermission) => {
      setCollaborator(forgeHome(env).forgeRoot, RepoName.parse(repo), login, permission);
      context.out(`${login} has ${permission} on ${repo}`);
      context.done(0);
    });
  return forge;
}
