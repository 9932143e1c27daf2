/** One CSV record with the 1-based line number where it starts (a quoted field may span lines). */
export interface CsvRecord {
  line: number
  fields: string[]
}

/**
 * RFC 4180 CSV: comma separated, `"` quotes with `""` as an escaped quote, CRLF or LF line ends,
 * line breaks allowed inside quoted fields. Blank lines are skipped. An unterminated quote is
 * reported with the line where its record began.
 */
export function parseCsvRecords(text: string): { records: CsvRecord[]; unterminatedAt: number | null } {
  const records: CsvRecord[] = []
  let fields: string[] = []
  let field = ''
  let inQuotes = false
  let line = 1
  let recordLine = 1
  let sawContent = false
  const endRecord = () => {
    fields.push(field)
    if (sawContent || fields.length > 1 || field !== '') records.push({ line: recordLine, fields })
    fields = []
    field = ''
    sawContent = false
  }
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text
  for (let i = 0; i < body.length; i++) {
    const c = body[i]
    if (inQuotes) {
      if (c === '"') {
        if (body[i + 1] === '"') {
          field += '"'
          i++
        } else inQuotes = false
      } else {
        if (c === '\n') line++
        field += c
      }
      continue
    }
    if (c === '"') {
      inQuotes = true
      sawContent = true
    } else if (c === ',') {
      fields.push(field)
      field = ''
      sawContent = true
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && body[i + 1] === '\n') i++
      endRecord()
      line++
      recordLine = line
    } else {
      field += c
      sawContent = true
    }
  }
  if (inQuotes) return { records, unterminatedAt: recordLine }
  if (sawContent || field !== '' || fields.length > 0) endRecord()
  return { records, unterminatedAt: null }
}
