import { addedKiB, baseSet, dependencyClosure, parsePackages } from '../../bench/debian-packages';

// A few stanzas shaped like bookworm's Packages index (fields, continuation lines, versions, arch
// qualifiers, alternatives, a virtual package).
const PACKAGES = `Package: libc6
Priority: optional
Installed-Size: 12986
Depends: libgcc-s1

Package: libgcc-s1
Priority: optional
Installed-Size: 140

Package: init-system-helpers
Priority: required
Installed-Size: 131
Depends: usrmerge | usr-is-merged

Package: usrmerge
Priority: optional
Installed-Size: 40
Depends: perl:any, libfile-find-rule-perl

Package: usr-is-merged
Priority: optional
Installed-Size: 18

Package: perl
Priority: standard
Installed-Size: 670
Depends: perl-base (= 5.36.0-7+deb12u2), libperl5.36
 (= 5.36.0-7+deb12u2)

Package: perl-base
Essential: yes
Priority: required
Installed-Size: 7643
Pre-Depends: libc6 (>= 2.35)

Package: libperl5.36
Priority: optional
Installed-Size: 28875

Package: libfile-find-rule-perl
Priority: optional
Installed-Size: 63

Package: mawk
Priority: required
Installed-Size: 263
Provides: awk

Package: gawk
Priority: optional
Installed-Size: 2906
Provides: awk

Package: git
Priority: optional
Installed-Size: 44890
Depends: libc6 (>= 2.34), perl, awk, git-man (>> 1:2.39.5)

Package: git-man
Priority: optional
Installed-Size: 2106
`;

describe('Debian package sizes for the image estimate', () => {
  const index = parsePackages(PACKAGES);

  test('Given a Packages index with continuation lines, versions and arch qualifiers, When it is parsed, Then each dependency is a bare package name and each package keeps its base flag and size', () => {
    expect(index.get('perl')!.depends).toEqual([['perl-base'], ['libperl5.36']]);
    expect(index.get('usrmerge')!.depends).toEqual([['perl'], ['libfile-find-rule-perl']]);
    expect(index.get('perl-base')).toMatchObject({ base: true, installedKiB: 7643, depends: [['libc6']] });
  });

  test('Given a choice in the base, When the base is built, Then the smallest alternative is taken, as debootstrap does (no usrmerge and its Perl)', () => {
    expect([...baseSet(index)].sort()).toEqual(['init-system-helpers', 'libc6', 'libgcc-s1', 'mawk', 'perl-base', 'usr-is-merged']);
  });

  test('Given a virtual dependency a base package provides, When the closure of git is taken, Then that base package is chosen over the first provider', () => {
    expect(dependencyClosure(index, ['git'])).not.toContain('gawk');
    expect(dependencyClosure(index, ['git'])).toContain('mawk');
  });

  test('Given an image that holds the base, When git is added, Then only what the base lacks is counted', () => {
    const added = addedKiB(index, ['git'], baseSet(index));
    expect(added.packages).toEqual(['git', 'git-man', 'libperl5.36', 'perl']);
    expect(added.kib).toBe(44890 + 2106 + 28875 + 670);
  });

  test('Given a dependency nothing provides, When the closure is taken, Then it fails naming it', () => {
    expect(() => dependencyClosure(parsePackages('Package: a\nInstalled-Size: 1\nDepends: missing-lib\n'), ['a'])).toThrow(/missing-lib/);
  });
});
