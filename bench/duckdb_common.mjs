// bench/duckdb_common.mjs -- what bench/duckdb_load.mjs and bench/duckdb_q1.mjs share:
// the read_csv statement that loads a generated CSV into a typed table, and a median.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function sqlString(s) { return "'" + String(s).replaceAll("'", "''") + "'"; }

// Column types from the product schema: INT -> BIGINT (Sluice's INT is int64),
// TEXT -> VARCHAR, DATE -> DATE, REAL -> DOUBLE, BOOL -> BOOLEAN.
function columnsSpec(schemaPath) {
	const path = schemaPath ?? fileURLToPath(new URL('../examples/claims.schema.json', import.meta.url));
	const map = { INT: 'BIGINT', TEXT: 'VARCHAR', DATE: 'DATE', REAL: 'DOUBLE', BOOL: 'BOOLEAN' };
	const cols = JSON.parse(readFileSync(path, 'utf8')).columns.map((c) => {
		if (!map[c.type]) throw new Error(`column ${c.name}: no DuckDB type for ${c.type}`);
		return `${sqlString(c.name)}: ${sqlString(map[c.type])}`;
	});
	return `{${cols.join(', ')}}`;
}

// CREATE TABLE claims from the CSV at csv, typed from the schema (default: the claims example).
export function createClaimsSql(csv, schemaPath) {
	return `CREATE TABLE claims AS SELECT * FROM read_csv(${sqlString(csv)},
    header = true, auto_detect = false, delim = ',', quote = '"', dateformat = '%Y-%m-%d',
    columns = ${columnsSpec(schemaPath)})`;
}

export function median(xs) {
	const v = [...xs].sort((a, b) => a - b), m = v.length >> 1;
	return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
