import { RUNNER_EXIT_MARGIN_SECONDS, RUNNER_STOP_TIMEOUT_SECONDS, runnerGiveUpAfterMs } from '../../core/runs/stop-grace';

describe('the runner stop grace', () => {
  it('gives up just before the stop timeout the launcher grants', () => {
    expect(runnerGiveUpAfterMs()).toBe((RUNNER_STOP_TIMEOUT_SECONDS - RUNNER_EXIT_MARGIN_SECONDS) * 1000);
    expect(runnerGiveUpAfterMs(30)).toBe(28_000);
  });

  it('keeps half of a grace too short for the margin', () => {
    expect(runnerGiveUpAfterMs(3)).toBe(1_500);
    expect(runnerGiveUpAfterMs(1)).toBe(500);
  });

  it('refuses a grace that is not a positive whole number of seconds', () => {
    for (const bad of [0, -5, 1.5, Number.NaN]) expect(() => runnerGiveUpAfterMs(bad)).toThrow(RangeError);
  });
});
