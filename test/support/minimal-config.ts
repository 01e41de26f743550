/**
 * The smallest valid nightshift.config.json, as written (not parsed): one repository, a Bedrock model
 * with its token and Fargate prices, a GitHub token secret. A new object on each call, so a test may
 * change it.
 */
// biome-ignore lint/suspicious/noExplicitAny: a config file as written, which tests break field by field
export function minimalConfigFile(): Record<string, any> {
  return {
    repos: [{ name: 'acme/web' }],
    model: {
      id: 'anthropic.claude-sonnet-4-5',
      prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
      fargate: { vcpuHourUsd: 0.04, gbHourUsd: 0.004 },
    },
    github: { tokenSecret: 'nightshift/github-token' },
  };
}
