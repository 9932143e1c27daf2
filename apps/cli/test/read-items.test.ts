import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseCsv, parseJsonl, readItemsFile } from '../src/read-items.js'
import { UserError } from '../src/user-error.js'

describe('reading JSONL', () => {
  it('keeps each object with its line number and reports bad lines by number', () => {
    const text = [
      '{"name":"a","image_url":"b:a.zvhd2","min_disk":40,"target":"eu-de"}',
      '',
      '{"name":"b"',
      '[1,2]',
      '  {"name":"c","external_id":"x-3"}  ',
      'null',
    ].join('\n')
    const { items, rejected } = parseJsonl(`${text}\n`)
    expect(items.map((i) => i.line)).toEqual([1, 5])
    expect(items[0]?.body).toEqual({ name: 'a', image_url: 'b:a.zvhd2', min_disk: 40, target: 'eu-de' })
    expect(items[1]?.body.external_id).toBe('x-3')
    expect(rejected.map((r) => r.line)).toEqual([3, 4, 6])
    expect(rejected[0]?.errors[0]?.message).toMatch(/^not valid JSON/)
    expect(rejected[1]?.errors[0]?.message).toBe('expected a JSON object')
  })

  it('accepts CRLF line ends and a byte-order mark', () => {
    const { items, rejected } = parseJsonl('\uFEFF{"name":"a"}\r\n{"name":"b"}\r\n')
    expect(rejected).toEqual([])
    expect(items.map((i) => [i.line, i.body.name])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ])
  })
})

describe('reading CSV', () => {
  it('maps header columns to body fields, shapes min_disk and tags, leaves empty cells out', () => {
    const csv = [
      'name,image_url,os_version,min_disk,type,description,tags,target,external_id',
      'web-01,bucket:web-01.zvhd2,Ubuntu 22.04 server 64bit,40,ECS,,env.prod;team.web,eu-de,ext-1',
      '"db, primary","bucket:db.raw",Debian GNU/Linux 12.0.0 64bit,100,,"says ""hi""",,,',
    ].join('\n')
    const { items, rejected } = parseCsv(csv)
    expect(rejected).toEqual([])
    expect(items[0]).toEqual({
      line: 2,
      body: {
        name: 'web-01',
        image_url: 'bucket:web-01.zvhd2',
        os_version: 'Ubuntu 22.04 server 64bit',
        min_disk: 40,
        type: 'ECS',
        tags: ['env.prod', 'team.web'],
        target: 'eu-de',
        external_id: 'ext-1',
      },
    })
    expect(items[1]).toEqual({
      line: 3,
      body: {
        name: 'db, primary',
        image_url: 'bucket:db.raw',
        os_version: 'Debian GNU/Linux 12.0.0 64bit',
        min_disk: 100,
        description: 'says "hi"',
      },
    })
  })

  it('leaves a non-integer min_disk as text for the API to judge', () => {
    const { items } = parseCsv('name,min_disk\na,forty\n')
    expect(items[0]?.body.min_disk).toBe('forty')
  })

  it('reports rows with the wrong number of columns by their line, counting lines inside quotes', () => {
    const csv = 'name,description\n"multi\nline",ok\nonly-one\n\nc,d,e\nfine,row\n'
    const { items, rejected } = parseCsv(csv)
    expect(items.map((i) => [i.line, i.body.name])).toEqual([
      [2, 'multi\nline'],
      [7, 'fine'],
    ])
    expect(rejected.map((r) => r.line)).toEqual([4, 6])
    expect(rejected[0]?.errors[0]?.message).toBe('expected 2 columns, found 1')
  })

  it('reports an unterminated quote at the line its row began', () => {
    const { items, rejected } = parseCsv('name,description\na,b\nc,"never closed\nmore\n')
    expect(items).toHaveLength(1)
    expect(rejected).toEqual([{ line: 3, errors: [{ path: '', message: 'unterminated quoted field' }] }])
  })

  it('refuses a header with a duplicate or empty column', () => {
    expect(() => parseCsv('name,name\na,b\n')).toThrow(/column "name" appears twice/)
    expect(() => parseCsv('name,,x\n')).toThrow(/column 2 has no name/)
  })
})

describe('reading a file', () => {
  it('tells the format from the extension and hashes the bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ims-cli-'))
    await writeFile(join(dir, 'a.jsonl'), '{"name":"a"}\n')
    await writeFile(join(dir, 'b.csv'), 'name\na\n')
    await writeFile(join(dir, 'c.jsonl'), '{"name":"a"} \n')
    const a = await readItemsFile(join(dir, 'a.jsonl'))
    const b = await readItemsFile(join(dir, 'b.csv'))
    const c = await readItemsFile(join(dir, 'c.jsonl'))
    expect(a.format).toBe('jsonl')
    expect(b.format).toBe('csv')
    expect(a.items[0]?.body).toEqual(b.items[0]?.body)
    expect(a.contentHash).toMatch(/^[0-9a-f]{64}$/)
    expect(a.contentHash).not.toBe(c.contentHash)
    await expect(readItemsFile(join(dir, 'missing.jsonl'))).rejects.toThrow(UserError)
    await expect(readItemsFile(join(dir, 'a.txt'))).rejects.toThrow(/name it .jsonl or .csv/)
    expect((await readItemsFile(join(dir, 'b.csv'), 'csv')).items).toHaveLength(1)
  })
})
