// tests/duckdb-query.mjs SQL: run SQL in an in-memory DuckDB and print each
// row as a JSON array, one a line.  DuckDB for Node (@duckdb/node-api) is
// looked for under $PT_NODE_PREFIX (node_modules inside it), where .ci/run
// installs it with npm; exit 77 when it is not there.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const prefix = process.env.PT_NODE_PREFIX || '/opt/paritytap-test-node';
let api;
try {
	const require = createRequire(prefix + '/package.json');
	api = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);
} catch (e) {
	console.error(`@duckdb/node-api is not installed under ${prefix}`);
	process.exit(77);
}
const db = await api.DuckDBInstance.create(':memory:');
const con = await db.connect();
const result = await con.runAndReadAll(process.argv[2]);
for (const row of result.getRowsJS())
	console.log(JSON.stringify(row,
	    (k, v) => typeof v === 'bigint' ? Number(v) : v));
