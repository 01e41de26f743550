import { callerMatches, listScope, maySeeRun, maySubmitTo, runAccess, type Caller } from '../../core/runs/access';

const iam = (requester: string): Caller => ({ requester, groups: [] });
const alice = iam('arn:aws:iam::123456789012:user/alice');
const bobRole = iam('arn:aws:sts::123456789012:assumed-role/dev');
const adminRole = iam('arn:aws:sts::123456789012:assumed-role/PlatformAdmin');

describe('run access (core/runs/access.ts)', () => {
  describe('who is an admin', () => {
    it('Given an admin role entry with a path, When a session of that role calls, Then it is an admin, and a role of that name in another account or partition is not', () => {
      // Given admins naming a role with a path, as IAM spells it
      const auth = { admins: ['arn:aws:iam::123456789012:role/platform/PlatformAdmin'] };
      // When a caller arrives as a session of that role (its requester is the role, in STS spelling)
      // Then it is an admin
      expect(runAccess(auth, adminRole).admin).toBe(true);
      // And a role of the same name in another account or partition is not
      expect(runAccess(auth, iam('arn:aws:sts::999999999999:assumed-role/PlatformAdmin')).admin).toBe(false);
      expect(runAccess(auth, iam('arn:aws-cn:sts::123456789012:assumed-role/PlatformAdmin')).admin).toBe(false);
    });

    it('Given an admin entry in the requester spelling of a role, When the role or a raw session ARN of it calls, Then it is an admin', () => {
      const auth = { admins: ['arn:aws:sts::123456789012:assumed-role/PlatformAdmin'] };
      expect(runAccess(auth, adminRole).admin).toBe(true);
      expect(runAccess(auth, iam('arn:aws:sts::123456789012:assumed-role/PlatformAdmin/any-session')).admin).toBe(true);
    });

    it('Given an admin IAM user, When callers arrive, Then the user matches exactly and never a role or user whose name merely resembles it', () => {
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

    it('Given a JWT group entry, When a member, an outsider or a subject spelling the group calls, Then only the member is an admin', () => {
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

    it('Given no admins configured, Then nobody is an admin', () => {
      expect(runAccess({ admins: [] }, alice).admin).toBe(false);
    });
  });

  describe('who sees and acts on a run', () => {
    it('Given a run, When callers ask to see it, Then its requester and an admin may, nobody else', () => {
      const run = { requester: alice.requester };
      expect(maySeeRun(runAccess({ admins: [] }, alice), run)).toBe(true);
      expect(maySeeRun(runAccess({ admins: [] }, bobRole), run)).toBe(false);
      expect(maySeeRun(runAccess({ admins: ['arn:aws:iam::123456789012:role/dev'] }, bobRole), run)).toBe(true);
    });

    it("Given a run of an assumed role, When another session of the role asks, Then it sees the role's run", () => {
      // Runs of an assumed role are stored under the role: another session of it is the same requester.
      expect(maySeeRun(runAccess({ admins: [] }, bobRole), { requester: 'arn:aws:sts::123456789012:assumed-role/dev' })).toBe(true);
    });
  });

  describe('what a run list may return', () => {
    it("Given a caller who is not an admin, When runs are listed, Then the scope is their own runs, decided before the query, and nothing of someone else's", () => {
      const access = runAccess({ admins: [] }, bobRole);
      expect(listScope(access, undefined)).toEqual({ requester: bobRole.requester });
      // A session ARN of the caller's own role is the caller
      expect(listScope(access, 'arn:aws:sts::123456789012:assumed-role/dev/other-session')).toEqual({ requester: bobRole.requester });
      // Someone else's runs: nothing at all
      expect(listScope(access, alice.requester)).toBe('none');
    });

    it('Given an admin, When runs are listed, Then the scope is whatever the admin asked for', () => {
      const access = runAccess({ admins: ['arn:aws:iam::123456789012:user/alice'] }, alice);
      expect(listScope(access, undefined)).toEqual({});
      expect(listScope(access, 'arn:aws:sts::123456789012:assumed-role/dev/s1')).toEqual({ requester: bobRole.requester });
    });
  });

  describe('who may submit to a repo', () => {
    it('Given a repo with or without requesters, When a caller submits, Then anyone may without requesters, and only the listed principals with them (admins only if listed)', () => {
      expect(maySubmitTo(bobRole, {})).toBe(true);
      const repo = { requesters: ['arn:aws:iam::123456789012:role/dev', 'group:web-team'] };
      expect(maySubmitTo(bobRole, repo)).toBe(true);
      expect(maySubmitTo({ requester: 'jwt:u1', groups: ['web-team'] }, repo)).toBe(true);
      expect(maySubmitTo(alice, repo)).toBe(false);
      expect(maySubmitTo(adminRole, repo)).toBe(false);
    });

    it('Given requester entries, When a caller is matched, Then entries match the same way as admins', () => {
      expect(callerMatches(iam('arn:aws:sts::123456789012:assumed-role/dev/s9'), ['arn:aws:iam::123456789012:role/team/dev'])).toBe(true);
      expect(callerMatches(iam('local:root'), ['local:root'])).toBe(true);
      expect(callerMatches(iam('local:alice'), ['local:root'])).toBe(false);
    });
  });
});
