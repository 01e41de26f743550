import { repoSettings } from '../config/load';
import { BudgetsConfig, type NightshiftConfig } from '../config/schema';

/** What the console's submit form offers for a configuration: each repo with its effective budget and time limit, and the budget caps. */
export interface SubmitFormSettings {
  repos: { name: string; budgetUsd: number; maxMinutes: number }[];
  budgets: { perRunUsd: number; maxPerRunUsd: number };
}

/** The form's settings from the configuration, through the same per-repo resolution submit uses (core/config/load.ts). */
export function submitFormSettings(config: NightshiftConfig): SubmitFormSettings {
  return {
    repos: config.repos.map((repo) => {
      const settings = repoSettings(config, repo.name)!;
      return { name: settings.name, budgetUsd: settings.budgetUsd, maxMinutes: settings.maxMinutes };
    }),
    budgets: budgetCaps(config.budgets),
  };
}

/** Without a configuration (a stack console with no config file at hand): no repos, the schema's default budgets. */
export function submitFormWithoutConfig(): SubmitFormSettings {
  return { repos: [], budgets: budgetCaps(BudgetsConfig.parse({})) };
}

function budgetCaps(budgets: BudgetsConfig): SubmitFormSettings['budgets'] {
  return { perRunUsd: budgets.perRunUsd, maxPerRunUsd: budgets.maxPerRunUsd };
}
