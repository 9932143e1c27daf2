-- Creates new import records and their indexes atomically, or none when any id exists.
-- KEYS: the record and index keys the records name (see write-imports.lua).
-- ARGV: the records, from ARGV[1] (write-imports.lua's layout).
-- Returns {'created'}, or {'exists', id} with nothing written.

-- @include write-imports

local taken = first_existing_import(1)
if taken then return {'exists', taken} end
write_imports(1)
return {'created'}
