import { proposedChangeOf, riskyActionRequest } from '../../core/inbox/risky-action';
import { RISKY_DETAIL_FIELDS } from '../../core/inbox/detail-fields';

/** A risky edit's item carries its proposed change, so the person approving it sees what it writes (console inbox, issue 12). */
describe('risky_action: the proposed change of an edit', () => {
  test('Given an edit_file call, Then the change is its old text as removed lines and its new text as added lines', () => {
    expect(proposedChangeOf('edit_file', { path: 'a', oldText: 'one\ntwo\n', newText: 'uno' })).toBe('-one\n-two\n+uno');
    expect(proposedChangeOf('write_file', { path: 'a', content: 'x\ny\n' })).toBe('+x\n+y');
    expect(proposedChangeOf('write_file', { path: 'a', content: '' })).toBeUndefined();
    expect(proposedChangeOf('edit_file', 'not an input')).toBeUndefined();
    expect(proposedChangeOf('write_file', { path: 'a', content: 'z'.repeat(3_000) })!.length).toBe(2_001);
  });

  test('Given an edit waiting for approval, When its item is made, Then the details carry the change under the shared field name; shell and calls without their input carry none', () => {
    const edit = riskyActionRequest(
      { tool: 'edit_file', path: 'package.json', pattern: 'package.json' },
      { path: 'package.json', oldText: '"a": 1', newText: '"a": 2' },
    );
    expect(edit.details).toEqual({
      tool: 'edit_file',
      path: 'package.json',
      pattern: 'package.json',
      [RISKY_DETAIL_FIELDS.change]: '-"a": 1\n+"a": 2',
    });
    expect(riskyActionRequest({ tool: 'edit_file', path: 'package.json', pattern: 'package.json' }).details).not.toHaveProperty('change');
    expect(
      riskyActionRequest({ tool: 'shell', command: 'npm publish', pattern: 'npm publish*' }, { command: 'npm publish' }).details,
    ).toEqual({ tool: 'shell', command: 'npm publish', pattern: 'npm publish*' });
  });
});
