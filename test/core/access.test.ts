import { callerMatches, listScope, maySeeRun, maySubmitTo, runAccess, type Caller } from '../../core/runs/access';

const iam = (requester: string): Caller => ({ requester, groups: [] });
const alice = iam('arn:aws:iam::123456789012:user/alice');
const bobRole = iam('arn:aws:sts::123456789012:assumed-role/dev');
const adminRole = iam('arn:aws:sts::123456789012:assumed-role/PlatformAdmin');

describe('run access (core/runs/access.ts)', () => {
  describe('who is an admin', () => {
    it('matches an IAM role entry to every session of that role, whatever its path', () => {
      // Given admins naming a role with a path, as IAM spells it
      const auth = { admins: ['arn:aws:iam::123456789012:role/platform/PlatformAdmin'] };
      // When a caller arrives as a session of that role (its requester is the role, in STS spelling)
      // Then it is an admin
      expect(runAccess(auth, adminRole).admin).toBe(true);
      // And a role of the same name in another account or partition is not
      expect(runAccess(auth, iam('arn:aws:sts::999999999999:assumed-role/PlatformAdmin')).admin).toBe(false);
      expect(runAccess(auth, iam('arn:aws-cn:sts::123456789012:assumed-role/PlatformAdmin')).admin).toBe(false);
    });

    it('matches the requester spelling of a role, and a raw session ARN normalises to its role', () => {
      const auth = { admins: ['arn:aws:sts::123456789012:assumed-role/PlatformAdmin'] };
      expect(runAccess(auth, adminRole).admin).toBe(true);
      expect(runAccess(auth, iam('arn:aws:sts::123456789012:assumed-role/PlatformAdmin/any-session')).admin).toBe(true);
    });

    it('matches an IAM user exactly, and never a role or user whose name merely resembles it', () => {
      const auth = { admins: ['arn:aws:iam::123456789012:user/alice'] };
      expect(runAccess(auth, alice).admin).toBe(true);
      for (const other of [
        'arn:aws:iam::123456789012:user/alice2',
        'arn:aws:iam::123456789012:user/ops/alice',
        'arn:aws:sts::123456789012:assumed-role/alice',
        'arn:aws:sts::123456789012:assumed-role/dev/alice',
        'arn:aws:iam::123456789012:user/Alice',
      ]) {
        expect(runAccess(auth, iam(other)).admin).toBe(false);
      }
    });

    it('matches JWT groups from the caller, and a group entry never matches a requester id', () => {
      // Given a JWT group entry
      const auth = { admins: ['group:nightshift-admins'] };
      // When a caller is in that group, or is not
      const member: Caller = { requester: 'jwt:u1', groups: ['devs', 'nightshift-admins'] };
      const outsider: Caller = { requester: 'jwt:u2', groups: ['devs'] };
      // Then only the member is an admin, even one whose subject spells the group
      expect(runAccess(auth, member).admin).toBe(true);
      expect(runAccess(auth, outsider).admin).toBe(false);
      expect(runAccess(auth, { requester: 'group:nightshift-admins', groups: [] }).admin).toBe(false);
    });

    it('has no admins by default', () => {
      expect(runAccess({ admins: [] }, alice).admin).toBe(false);
    });
  });

  describe('who sees and acts on a run', () => {
    it('is its requester or an admin; nobody else', () => {
      const run = { requester: alice.requester };
      expect(maySeeRun(runAccess({ admins: [] }, alice), run)).toBe(true);
      expect(maySeeRun(runAccess({ admins: [] }, bobRole), run)).toBe(false);
      expect(maySeeRun(runAccess({ admins: ['arn:aws:iam::123456789012:role/dev'] }, bobRole), run)).toBe(true);
    });

    it("lets a role's sessions share the role's runs", () => {
      // Runs of an assumed role are stored under the role: another session of it is the same requester.
      expect(maySeeRun(runAccess({ admins: [] }, bobRole), { requester: 'arn:aws:sts::123456789012:assumed-role/dev' })).toBe(true);
    });
  });

  describe('what a run list may return', () => {
    it("is the caller's own runs for anyone but an admin, decided before the query", () => {
      const access = runAccess({ admins: [] }, bobRole);
      expect(listScope(access, undefined)).toEqual({ requester: bobRole.requester });
      // A session ARN of the caller's own role is the caller
      expect(listScope(access, 'arn:aws:sts::123456789012:assumed-role/dev/other-session')).toEqual({ requester: bobRole.requester });
      // Someone else's runs: nothing at all
      expect(listScope(access, alice.requester)).toBe('none');
    });

    it('is whatever an admin asked for', () => {
      const access = runAccess({ admins: ['arn:aws:iam::123456789012:user/alice'] }, alice);
      expect(listScope(access, undefined)).toEqual({});
      expect(listScope(access, 'arn:aws:sts::123456789012:assumed-role/dev/s1')).toEqual({ requester: bobRole.requester });
    });
  });

  describe('who may submit to a repo', () => {
    it('is everyone without requesters, and only the listed principals with them (admins included only if listed)', () => {
      expect(maySubmitTo(bobRole, {})).toBe(true);
      const repo = { requesters: ['arn:aws:iam::123456789012:role/dev', 'group:web-team'] };
      expect(maySubmitTo(bobRole, repo)).toBe(true);
      expect(maySubmitTo({ requester: 'jwt:u1', groups: ['web-team'] }, repo)).toBe(true);
      expect(maySubmitTo(alice, repo)).toBe(false);
      expect(maySubmitTo(adminRole, repo)).toBe(false);
    });

    it('matches entries the same way as admins', () => {
      expect(callerMatches(iam('arn:aws:sts::123456789012:assumed-role/dev/s9'), ['arn:aws:iam::123456789012:role/team/dev'])).toBe(true);
      expect(callerMatches(iam('local:root'), ['local:root'])).toBe(true);
      expect(callerMatches(iam('local:alice'), ['local:root'])).toBe(false);
    });
  });
});
