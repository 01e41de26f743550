import { AutofixConfig, GithubConfig } from '../../core/config/schema';

describe('github.autofix (CI auto-fix limits)', () => {
  it('Given no autofix section, When the github config is parsed, Then auto-fix is on with 2 attempts per commit and 3 per pull request', () => {
    expect(GithubConfig.parse({ tokenSecret: 'nightshift/github-token' }).autofix).toEqual({
      enabled: true,
      maxAttempts: { perCommit: 2, perPullRequest: 3 },
    });
  });

  it('Given a partial section, When it is parsed, Then the omitted fields keep their defaults', () => {
    expect(AutofixConfig.parse({ enabled: false, maxAttempts: { perCommit: 1 } })).toEqual({
      enabled: false,
      maxAttempts: { perCommit: 1, perPullRequest: 3 },
    });
  });

  it('Given zero attempts or an unknown field, When it is parsed, Then it is refused', () => {
    expect(AutofixConfig.safeParse({ maxAttempts: { perCommit: 0 } }).success).toBe(false);
    expect(AutofixConfig.safeParse({ retries: 2 }).success).toBe(false);
  });
});
