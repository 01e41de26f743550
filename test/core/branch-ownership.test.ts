import { branchPushRefusal, type BranchFacts } from '../../core/runs/branch-ownership';
import { SubmitRunRequest } from '../../core/runs/schemas';

const facts = (over: Partial<BranchFacts>): BranchFacts => ({
  branch: 'nightshift/01J-fix',
  defaultBranch: 'main',
  baseBranch: 'main',
  isProtected: false,
  aliasOf: undefined,
  isOpenPullRequestHead: false,
  ...over,
});

describe('a run pushes only to its own branch (invariant 7)', () => {
  it.each(['main', 'Main', 'MAIN', 'mAiN'])('Given the default branch spelled %s, Then the push is refused', (branch) => {
    expect(branchPushRefusal(facts({ branch, isOpenPullRequestHead: true }))).toMatch(/default branch/);
  });

  it.each(['release/1.x', 'Release/1.X'])('Given the base branch spelled %s, Then the push is refused', (branch) => {
    expect(branchPushRefusal(facts({ branch, baseBranch: 'release/1.x', isOpenPullRequestHead: true }))).toMatch(/base branch/);
  });

  it.each(['refs/heads/main', 'REFS/heads/x', 'HEAD', 'head'])('Given a ref spelled %s, Then the push is refused', (branch) => {
    expect(branchPushRefusal(facts({ branch }))).toBeDefined();
  });

  it('Given a protected branch, even a nightshift/ one that heads an open PR, Then the push is refused', () => {
    expect(branchPushRefusal(facts({ isProtected: true, isOpenPullRequestHead: true }))).toMatch(/protected/);
  });

  it('Given a branch that is an alias (symbolic ref) of another, Then the push is refused', () => {
    expect(branchPushRefusal(facts({ aliasOf: 'refs/heads/main' }))).toMatch(/alias of refs\/heads\/main/);
  });

  it('Given a branch that is neither nightshift/ nor an open same-repository PR head, Then the push is refused', () => {
    expect(branchPushRefusal(facts({ branch: 'feature/x' }))).toMatch(/neither a nightshift\/ branch nor the head branch/);
  });

  it.each([
    ['a nightshift/ branch', facts({})],
    ['a nightshift/ branch in other case', facts({ branch: 'NightShift/x' })],
    ['the head of an open same-repository PR', facts({ branch: 'feature/x', isOpenPullRequestHead: true })],
  ])('Given %s, Then the push is allowed', (_what, f) => {
    expect(branchPushRefusal(f)).toBeUndefined();
  });
});

describe('submit refuses branch names that are not plain branch names', () => {
  it.each(['refs/heads/main', 'refs/tags/v1', 'HEAD', 'head', 'main/', '/main', 'a..b', '-x', 'a b'])(
    'Given the branch %s, When a run is submitted, Then it is a 400',
    (branch) => {
      expect(SubmitRunRequest.safeParse({ repo: 'acme/widgets', prompt: 'p', branch }).success).toBe(false);
    },
  );
});
