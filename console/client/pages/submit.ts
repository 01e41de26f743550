import { api, ApiProblem } from '../api';
import { el, replaceChildren } from '../dom';
import { usd } from '../format';
import type { PageContext } from '../page';

/**
 * The submit form: a repository of the allowlist, the prompt, a budget and plan mode. One idempotency key per
 * filled-in form, so a double click or a retry after a lost answer submits one run, not two.
 */
export function submitPage(ctx: PageContext): () => void {
  const repo = el('select', { id: 'submit-repo', name: 'repo', required: true, 'aria-describedby': 'submit-repo-help' });
  const prompt = el('textarea', {
    id: 'submit-prompt',
    name: 'prompt',
    required: true,
    rows: 8,
    maxlength: 20_000,
    'aria-describedby': 'submit-prompt-help',
    spellcheck: 'true',
  });
  const budget = el('input', {
    id: 'submit-budget',
    name: 'budgetUsd',
    type: 'number',
    inputmode: 'decimal',
    min: 0.01,
    step: 0.01,
    'aria-describedby': 'submit-budget-help',
  });
  const budgetHelp = el('p', { id: 'submit-budget-help', class: 'help' }, 'Leave empty for the repository’s default.');
  // Plan mode (`plan: true`): the agent explores and proposes a plan that waits in the inbox before any edit.
  const plan = el('input', { id: 'submit-plan', name: 'plan', type: 'checkbox', 'aria-describedby': 'submit-plan-help' });
  const submit = el('button', { type: 'submit' }, 'Submit run');
  const problem = el('div', { class: 'problem', role: 'alert', hidden: true });
  let idempotencyKey = crypto.randomUUID();

  const form = el(
    'form',
    { class: 'submit-form', novalidate: true, 'aria-labelledby': 'submit-h' },
    el(
      'div',
      { class: 'field' },
      el('label', { for: 'submit-repo' }, 'Repository'),
      repo,
      el('p', { id: 'submit-repo-help', class: 'help' }, 'Only repositories on the allowlist can be chosen.'),
    ),
    el(
      'div',
      { class: 'field' },
      el('label', { for: 'submit-prompt' }, 'Prompt'),
      prompt,
      el('p', { id: 'submit-prompt-help', class: 'help' }, 'What the agent should do, up to 20,000 characters.'),
    ),
    el('div', { class: 'field' }, el('label', { for: 'submit-budget' }, 'Budget (USD)'), budget, budgetHelp),
    el(
      'div',
      { class: 'field' },
      el('label', { for: 'submit-plan' }, plan, ' Plan first'),
      el(
        'p',
        { id: 'submit-plan-help', class: 'help' },
        'The agent explores without changing anything and proposes a plan; it waits in the inbox for your approval (or your edited plan) before any edit.',
      ),
    ),
    problem,
    submit,
  );
  ctx.main.append(el('h1', { id: 'submit-h' }, 'New run'), form);

  ctx.config.then(
    (config) => {
      for (const r of config.repos) repo.appendChild(el('option', { value: r.name }, r.name));
      const preset = new URLSearchParams(location.search).get('repo');
      if (preset && config.repos.some((r) => r.name === preset)) repo.value = preset;
      const showDefault = () => {
        const chosen = config.repos.find((r) => r.name === repo.value);
        budget.placeholder = chosen ? chosen.budgetUsd.toFixed(2) : '';
        budget.max = String(config.budgets.maxPerRunUsd);
        budgetHelp.textContent = `Leave empty for the default (${chosen ? usd(chosen.budgetUsd) : usd(config.budgets.perRunUsd)}); at most ${usd(config.budgets.maxPerRunUsd)}.`;
      };
      repo.addEventListener('change', showDefault);
      showDefault();
      if (config.repos.length === 0) showProblem('No repository is on the allowlist (repos in nightshift.config.json).');
      ctx.ready();
    },
    (error: unknown) => {
      showProblem(`Could not load the repositories: ${(error as Error).message}`);
      ctx.ready();
    },
  );

  // A changed form is a new submission.
  form.addEventListener('input', () => (idempotencyKey = crypto.randomUUID()));

  function showProblem(message: string, details: { path: string; message: string }[] = []): void {
    problem.hidden = false;
    replaceChildren(
      problem,
      el('p', {}, message),
      details.length > 0 ? el('ul', {}, ...details.map((d) => el('li', {}, `${d.path}: ${d.message}`))) : null,
    );
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.hidden = true;
    const text = prompt.value;
    if (!repo.value) return showProblem('Choose a repository.');
    if (text.trim() === '') {
      prompt.focus();
      return showProblem('Write a prompt: what should the agent do?');
    }
    let budgetUsd: number | undefined;
    if (budget.value.trim() !== '') {
      budgetUsd = Number(budget.value);
      if (!Number.isFinite(budgetUsd) || budgetUsd <= 0) {
        budget.focus();
        return showProblem('The budget must be a number of dollars greater than 0.');
      }
    }
    submit.disabled = true;
    submit.textContent = 'Submitting…';
    try {
      const answer = await api.submit(
        { repo: repo.value, prompt: text, ...(budgetUsd !== undefined ? { budgetUsd } : {}), ...(plan.checked ? { plan: true } : {}) },
        idempotencyKey,
      );
      ctx.announce(`Run ${answer.runId} submitted`);
      ctx.navigate(`/runs/${encodeURIComponent(answer.runId)}`);
    } catch (error) {
      const p = error instanceof ApiProblem ? error : new ApiProblem((error as Error).message, 0, 'error');
      showProblem(`The run was not submitted: ${p.message}`, p.details);
      submit.disabled = false;
      submit.textContent = 'Submit run';
    }
  });

  return () => undefined;
}
