import { describe, expect, it } from 'vitest'
import osVersionData from '../data/os-versions.json' with { type: 'json' }
import { OS_VERSIONS, suggestOsVersions, validateQuickImport } from '../src/index.js'
import { SYSTEM_BODY } from './fixtures/invalid-bodies.js'

describe('OS_VERSIONS', () => {
  it('holds the 131 documented values, each once', () => {
    expect(OS_VERSIONS).toHaveLength(131)
    expect(new Set(OS_VERSIONS).size).toBe(131)
    expect(Object.isFrozen(OS_VERSIONS)).toBe(true)
  })

  it('has the 12 families of the IMS table, with their sizes', () => {
    const sizes = Object.fromEntries(Object.entries(osVersionData.families).map(([f, v]) => [f, v.length]))
    expect(sizes).toEqual({
      Windows: 15,
      SUSE: 12,
      'Oracle Linux': 12,
      RedHat: 17,
      Ubuntu: 14,
      openSUSE: 7,
      CentOS: 25,
      Debian: 11,
      Fedora: 9,
      EulerOS: 5,
      CoreOS: 3,
      openEuler: 1,
    })
    expect(osVersionData.source).toContain('Values of Related Parameters')
  })

  it('keeps the documented spellings verbatim', () => {
    for (const v of [
      'CentOS 7.0 64bit',
      'Redhat 7.6 64bit',
      'Redhat Linux Enterprise 8.0 64bit',
      'Ubuntu 16.04.3 Server 64bit',
      'Ubuntu 16.04 server 64bit',
      'Windows Server 2012 Essentials R2 64bit',
      'Debian GNU/Linux 10.0.0 64bit',
      'CoreOS 1068.10.0',
      'openEuler 20.03 64bit',
    ]) {
      expect(OS_VERSIONS).toContain(v)
    }
    expect(OS_VERSIONS.every((v) => v === v.trim() && !v.includes('  '))).toBe(true)
  })

  it('each value is accepted as os_version, compared verbatim', () => {
    for (const os_version of OS_VERSIONS) {
      expect(validateQuickImport({ ...SYSTEM_BODY, os_version }).success, os_version).toBe(true)
    }
    expect(validateQuickImport({ ...SYSTEM_BODY, os_version: 'Centos 7.0 64bit' }).success).toBe(false)
    expect(validateQuickImport({ ...SYSTEM_BODY, os_version: 'CentOS 7.0 64bit ' }).success).toBe(false)
  })
})

describe('suggestOsVersions', () => {
  it.each([
    ['CentOS 7.0 64 bit', 'CentOS 7.0 64bit'],
    ['centos 7.0 64bit', 'CentOS 7.0 64bit'],
    ['CENTOS 7.0 64BIT', 'CentOS 7.0 64bit'],
    ['CentOS 7.0 x86_64', 'CentOS 7.0 64bit'],
    ['CentOS 7.0 64bit ', 'CentOS 7.0 64bit'],
    ['Ubuntu 18.04', 'Ubuntu 18.04 server 64bit'],
    ['Ubuntu 18.04 Server 64bit', 'Ubuntu 18.04 server 64bit'],
    ['RHEL 7.6', 'Redhat 7.6 64bit'],
    ['Red Hat 7.6 64bit', 'Redhat 7.6 64bit'],
    ['SLES 12 SP5', 'SUSE Linux Enterprise Server 12 SP5 64bit'],
    ['Debian 10', 'Debian GNU/Linux 10.0.0 64bit'],
    ['Windows Server 2019 Datacenter', 'Windows Server 2016 Datacenter 64bit'],
    ['Windows 10', 'Windows 10 64bit'],
    ['openeuler 20.03', 'openEuler 20.03 64bit'],
    ['CoreOS 1068.10.0 64bit', 'CoreOS 1068.10.0'],
  ])('%j suggests %j first', (input, expected) => {
    expect(suggestOsVersions(input)[0]).toBe(expected)
  })

  it('suggests versions of the same family for a version IMS does not list', () => {
    expect(suggestOsVersions('CentOS 7.9 64bit')).toEqual([
      'CentOS 7.7 64bit',
      'CentOS 7.6 64bit',
      'CentOS 7.5 64bit',
    ])
    expect(
      suggestOsVersions('Oracle Linux 7.9').every((v) => v.startsWith('Oracle Linux Server release 7.')),
    ).toBe(true)
  })

  it('suggests nothing rather than something unrelated', () => {
    expect(suggestOsVersions('Plan 9 from Bell Labs')).toEqual([])
    expect(suggestOsVersions('FreeBSD 13')).toEqual([])
    expect(suggestOsVersions('')).toEqual([])
    expect(suggestOsVersions('x'.repeat(10_000))).toEqual([])
  })

  it('returns at most `count` documented values', () => {
    expect(suggestOsVersions('Ubuntu 14.04', 5)).toHaveLength(5)
    expect(suggestOsVersions('Ubuntu 14.04', 1)).toEqual(['Ubuntu 14.04 server 64bit'])
    expect(suggestOsVersions('Ubuntu 14.04', 0)).toEqual([])
    for (const v of suggestOsVersions('Ubuntu 14.04', 10)) expect(OS_VERSIONS).toContain(v)
  })

  it('the os_version message carries the suggestions', () => {
    const result = validateQuickImport({ ...SYSTEM_BODY, os_version: 'Ubuntu 18.04' })
    expect(result.success ? [] : result.issues).toEqual([
      expect.objectContaining({
        path: 'os_version',
        ims_code: 'IMG.0056',
        message: expect.stringContaining('closest: "Ubuntu 18.04 server 64bit"'),
      }),
    ])
  })
})
