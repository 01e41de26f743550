import { parseConfig } from '../../core/config/load';
import { reviewPullRefusal } from '../../core/runs/branch-ownership';
import { SubmitRunRequest } from '../../core/runs/schemas';
import { effectiveLimits } from '../../core/runs/submit';

const config = parseConfig({
  repos: [{ name: 'acme/app', budgetUsd: 3 }],
  budgets: { perRunUsd: 2, maxPerRunUsd: 5, reviewUsd: 0.5 },
  model: {
    id: 'test-model',
    maxOutputTokens: 1000,
    prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
    fargate: { vcpuHourUsd: 0.04, gbHourUsd: 0.004 },
  },
  github: { tokenSecret: 'nightshift/github-token' },
});

describe('a review run at submit', () => {
  it('Given a review run, When its limits are set, Then it takes budgets.reviewUsd by default, not the repo budget, and the request budget when given', () => {
    const review = SubmitRunRequest.parse({ repo: 'acme/app', prompt: 'Review it', kind: 'review', pr: 7 });
    expect(effectiveLimits(config, review).budgetMicros).toBe(500_000);
    expect(effectiveLimits(config, { ...review, budgetUsd: 1.5 }).budgetMicros).toBe(1_500_000);
    expect(effectiveLimits(config, SubmitRunRequest.parse({ repo: 'acme/app', prompt: 'Change it' })).budgetMicros).toBe(3_000_000);
  });

  it('Given a submit request, When it is parsed, Then kind review needs pr, and pr without it or a branch with it is refused, naming the field', () => {
    const issues = (body: unknown) => SubmitRunRequest.safeParse(body).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ repo: 'acme/app', prompt: 'p', kind: 'review' })).toEqual([
      'pr: required with kind "review": the number of the pull request to review',
    ]);
    expect(issues({ repo: 'acme/app', prompt: 'p', pr: 3 })).toEqual([
      'pr: only allowed with kind "review" (a change run continues a pull request by its `branch`)',
    ]);
    expect(issues({ repo: 'acme/app', prompt: 'p', kind: 'review', pr: 3, branch: 'feature' })).toEqual([
      'branch: not allowed with kind "review": the pull request names its branches',
    ]);
    expect(SubmitRunRequest.safeParse({ repo: 'acme/app', prompt: 'p', kind: 'change' }).success).toBe(true);
    expect(SubmitRunRequest.safeParse({ repo: 'acme/app', prompt: 'p', kind: 'approve', pr: 3 }).success).toBe(false);
  });

  it('Given a pull request to review, When it is checked, Then only an open pull request of the same repository is accepted', () => {
    expect(reviewPullRefusal('acme/app', 7, { state: 'open', headRef: 'fix', headRepo: 'Acme/App' })).toBeUndefined();
    expect(reviewPullRefusal('acme/app', 7, undefined)).toBe('acme/app has no pull request #7');
    expect(reviewPullRefusal('acme/app', 7, { state: 'closed', headRef: 'fix', headRepo: 'acme/app' })).toBe('pull request #7 is closed');
    expect(reviewPullRefusal('acme/app', 7, { state: 'open', headRef: 'fix', headRepo: 'mallory/app' })).toContain(
      'comes from the fork mallory/app',
    );
    expect(reviewPullRefusal('acme/app', 7, { state: 'open', headRef: 'fix', headRepo: null })).toContain('fork (deleted)');
  });
});
