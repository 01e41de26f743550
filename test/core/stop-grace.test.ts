import { RUNNER_EXIT_MARGIN_SECONDS, RUNNER_STOP_TIMEOUT_SECONDS, runnerGiveUpAfterMs } from '../../core/runs/stop-grace';

describe('the runner stop grace', () => {
  it("Given the launcher's stop timeout, When the runner's grace is computed, Then it gives up just before it", () => {
    expect(runnerGiveUpAfterMs()).toBe((RUNNER_STOP_TIMEOUT_SECONDS - RUNNER_EXIT_MARGIN_SECONDS) * 1000);
    expect(runnerGiveUpAfterMs(30)).toBe(28_000);
  });

  it("Given a grace too short for the margin, When the runner's grace is computed, Then half of it is kept", () => {
    expect(runnerGiveUpAfterMs(3)).toBe(1_500);
    expect(runnerGiveUpAfterMs(1)).toBe(500);
  });

  it('Given a grace that is not a positive whole number of seconds, When it is computed, Then it is refused', () => {
    for (const bad of [0, -5, 1.5, Number.NaN]) expect(() => runnerGiveUpAfterMs(bad)).toThrow(RangeError);
  });
});
