/**
 * A table of every built-in type family with extreme values and NULLs, for the type fidelity
 * tests: `createTypeTable(schema, name)` creates and fills it; `COLUMNS` lists its columns.
 */
import { Effect } from "effect"
import { sql, withSchema } from "./support.ts"

/** `[column, type, values of rows 1..4]` (SQL literals; row 4 is all NULL). */
const spec: ReadonlyArray<readonly [string, string, ReadonlyArray<string>]> = [
  ["c_bool", "boolean", ["true", "false", "true"]],
  ["c_int2", "smallint", ["-32768", "32767", "0"]],
  ["c_int4", "integer", ["-2147483648", "2147483647", "0"]],
  ["c_int8", "bigint", ["-9223372036854775808", "9223372036854775807", "9007199254740993"]],
  ["c_float4", "real", ["'-0'", "'NaN'", "'3.4028235e38'"]],
  ["c_float4b", "real", ["'1.1'", "'-Infinity'", "'1.4e-45'"]],
  ["c_float8", "double precision", ["'-0'", "'Infinity'", "'4.9e-324'"]],
  ["c_float8b", "double precision", ["'0.1'", "'NaN'", "'1.7976931348623157e308'"]],
  ["c_numeric", "numeric", ["'12345678901234567890.123456789012345678901234567890'", "'NaN'", "'-Infinity'"]],
  ["c_numeric2", "numeric(10,2)", ["'2.50'", "'-99999999.99'", "'0.00'"]],
  ["c_money", "money", ["'-92233720368547758.08'", "'92233720368547758.07'", "'0.01'"]],
  ["c_text", "text", ["E'tab\\there\\nnew line \\\\ back\\\\slash \\r cr'", "''", "'émoji 🎉 \"quotes\" ''single'' NULL'"]],
  ["c_varchar", "varchar(10)", ["'abc'", "''", "'\\N'"]],
  ["c_char", "char(5)", ["'ab'", "'abcde'", "' '"]],
  ["c_name", "name", ["'a name'", "'x'", "'pg_catalog'"]],
  ["c_qchar", '"char"', ["'a'", "'Z'", "'\\'"]],
  ["c_bytea", "bytea", ["'\\x00ff5c0a0d09'", "''", "'\\x5c4e'"]],
  ["c_date", "date", ["'infinity'", "'4713-01-01 BC'", "'5874897-12-31'"]],
  ["c_date2", "date", ["'-infinity'", "'2000-02-29'", "'0001-01-01'"]],
  ["c_time", "time", ["'24:00:00'", "'00:00:00.000001'", "'12:34:56.789012'"]],
  ["c_timetz", "timetz", ["'23:59:59.999999+15:59'", "'00:00:00-15:59'", "'12:00:00+05:30'"]],
  ["c_timestamp", "timestamp", ["'infinity'", "'4713-01-01 00:00:00 BC'", "'294276-12-31 23:59:59.999999'"]],
  ["c_timestamp2", "timestamp(3)", ["'-infinity'", "'2024-01-01 12:34:56.789'", "'1970-01-01 00:00:00'"]],
  ["c_timestamptz", "timestamptz", ["'-infinity'", "'2024-05-06 07:08:09.123456+02'", "'0099-01-01 00:00:00 BC'"]],
  ["c_interval", "interval", ["'1 year 2 mons 3 days 04:05:06.789012'", "'1 microsecond'", "'-178000000 years'"]],
  ["c_interval2", "interval", ["'-1 days +02:00'", "'0'", "'P1Y2M3DT4H5M6.5S'"]],
  ["c_json", "json", [`'{"a" : 1,  "a": 2 }'`, "'null'", "'[12345678901234567890, 1e400, 2.50]'"]],
  ["c_jsonb", "jsonb", [`'{"n": 12345678901234567890, "d": 2.50, "e": 1e400}'`, "'null'", `'"str\\\\ing\\u00e9"'`]],
  ["c_uuid", "uuid", ["'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'"]],
  ["c_xml", "xml", ["'<a x=\"1\">t&amp;</a>'", "'text only'", "'<b/>'"]],
  ["c_inet", "inet", ["'192.168.0.1/24'", "'::1'", "'2001:db8::1/64'"]],
  ["c_cidr", "cidr", ["'10.0.0.0/8'", "'::/0'", "'192.168.1.0/24'"]],
  ["c_macaddr", "macaddr", ["'08:00:2b:01:02:03'", "'ff:ff:ff:ff:ff:ff'", "'00:00:00:00:00:00'"]],
  ["c_macaddr8", "macaddr8", ["'08:00:2b:01:02:03:04:05'", "'00:00:00:00:00:00:00:00'", "'ff:ff:ff:ff:ff:ff:ff:ff'"]],
  ["c_bit", "bit(4)", ["B'1010'", "B'0000'", "B'1111'"]],
  ["c_varbit", "varbit", ["B'101'", "B''", "B'1'"]],
  ["c_point", "point", ["'(1.5,-0)'", "'(NaN,Infinity)'", "'(1e300,-1e-300)'"]],
  ["c_line", "line", ["'{1,2,3}'", "'{0,-1,0}'", "'{1.5,0,-2}'"]],
  ["c_lseg", "lseg", ["'[(0,0),(1,1)]'", "'[(-1,-1),(1e10,2)]'", "'[(0,0),(0,0)]'"]],
  ["c_box", "box", ["'(1,1),(0,0)'", "'(-1,-1),(-2,-2)'", "'(0,0),(0,0)'"]],
  ["c_path", "path", ["'[(0,0),(1,1),(2,0)]'", "'((0,0),(1,1))'", "'[(0,0)]'"]],
  ["c_polygon", "polygon", ["'((0,0),(1,1),(1,0))'", "'((0,0))'", "'((1.5,2.5),(3,4))'"]],
  ["c_circle", "circle", ["'<(0,0),1>'", "'<(1.5,-2),0>'", "'<(1e10,1e-10),3>'"]],
  ["c_tsvector", "tsvector", ["'a fat:1 cat:2A'", "''", "'''quoted word'' x'"]],
  ["c_tsquery", "tsquery", ["'fat & (rat | !cat)'", "'a:*'", "'x <-> y'"]],
  ["c_int4range", "int4range", ["'[1,10)'", "'empty'", "'(,5]'"]],
  ["c_numrange", "numrange", ["'(1.5,2.50]'", "'[,)'", "'[NaN,NaN]'"]],
  ["c_tstzrange", "tstzrange", ["'[2024-01-01 00:00:00.000001+00,infinity)'", "'empty'", "'(,2000-01-01 00:00:00+00]'"]],
  ["c_daterange", "daterange", ["'[2024-01-01,2024-02-01)'", "'empty'", "'[-infinity,infinity)'"]],
  ["c_multirange", "int4multirange", ["'{[1,3),[5,7)}'", "'{}'", "'{(,0]}'"]],
  ["c_pg_lsn", "pg_lsn", ["'16/B374D848'", "'0/0'", "'FFFFFFFF/FFFFFFFF'"]],
  ["c_oid", "oid", ["4294967295", "0", "1"]],
  ["c_enum", "%ENUM%", ["'sad'", "'ok'", "'happy'"]],
  ["c_domain", "%DOMAIN%", ["42", "1", "2147483647"]],
  ["c_composite", "%COMPOSITE%", ["'(1,\"a b\")'", "'(,)'", "'(-1,\"\\\\\")'"]],
  ["c_int4_arr", "integer[]", ["'{1,NULL,3}'", "'{}'", "'{-2147483648}'"]],
  ["c_int4_2d", "integer[][]", ["'{{1,2},{3,4}}'", "'{{NULL,-1}}'", "'{{{1},{2}},{{3},{4}}}'"]],
  ["c_int4_bounds", "integer[]", ["'[0:1]={7,8}'", "'[-2:-1]={1,2}'", "'{5}'"]],
  ["c_int8_arr", "bigint[]", ["'{9223372036854775807,-9223372036854775808}'", "'{NULL}'", "'{0}'"]],
  ["c_float8_arr", "double precision[]", ["'{-0,NaN,Infinity,-Infinity}'", "'{0.1,1e-300}'", "'{}'"]],
  ["c_numeric_arr", "numeric[]", ["'{1.50,NaN,-Infinity}'", "'{12345678901234567890.5}'", "'{NULL}'"]],
  ["c_text_arr", "text[]", [`'{"a,b","c\\"d","NULL",NULL,"",x,"back\\\\slash","{}"," sp "}'`, "'{}'", `'{"tab\there"}'`]],
  ["c_bool_arr", "boolean[]", ["'{t,f,NULL}'", "'{}'", "'{{t},{f}}'"]],
  ["c_bytea_arr", "bytea[]", [`'{"\\\\x00ff",NULL,"\\\\x"}'`, "'{}'", `'{"\\\\x5c"}'`]],
  ["c_box_arr", "box[]", ["'{(1,1),(0,0);(2,2),(1,1)}'", "'{}'", "'{NULL}'"]],
  ["c_jsonb_arr", "jsonb[]", [`'{"{\\"a\\": 1}",null,"2.50"}'`, "'{}'", `'{"\\"x\\""}'`]],
  ["c_tstz_arr", "timestamptz[]", [`'{infinity,"2024-01-01 00:00:00.000001+00"}'`, "'{}'", "'{NULL}'"]],
  ["c_date_arr", "date[]", ["'{4713-01-01 BC,-infinity}'", "'{}'", "'{2024-02-29}'"]],
  ["c_uuid_arr", "uuid[]", ["'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'", "'{}'", "'{NULL}'"]],
  ["c_interval_arr", "interval[]", [`'{"1 microsecond","-1 days +02:00"}'`, "'{}'", "'{NULL}'"]],
  ["c_range_arr", "int4range[]", [`'{"[1,2)",empty}'`, "'{}'", "'{NULL}'"]]
]

/** The type table's columns (besides `id`), with their declared types. */
export const COLUMNS: ReadonlyArray<readonly [name: string, type: string]> = spec.map(([n, t]) => [n, t])

/** Column definitions of the type table in `schema` (enum, domain and composite types created there). */
export const columnDefinitions = (schema: string): string =>
  ["id int PRIMARY KEY", ...spec.map(([n, t]) => `${n} ${resolveType(schema, t)}`)].join(", ")

const resolveType = (schema: string, t: string): string =>
  t === "%ENUM%" ? `${schema}.mood` : t === "%DOMAIN%" ? `${schema}.positive` : t === "%COMPOSITE%" ? `${schema}.pair` : t

/** Creates the enum, domain and composite types the table uses in `schema`. */
export const createTypes = (schema: string) =>
  sql(
    `CREATE TYPE ${schema}.mood AS ENUM ('sad', 'ok', 'happy'); CREATE DOMAIN ${schema}.positive AS integer CHECK (VALUE > 0); CREATE TYPE ${schema}.pair AS (n int, s text)`
  )

/** The INSERT of rows 1..4 (row 4 all NULL) into `schema.name`. */
export const insertRows = (schema: string, name: string): string =>
  `INSERT INTO ${schema}.${name} VALUES ${
    [0, 1, 2].map((r) => `(${r + 1}, ${spec.map(([, t, v]) => `(${v[r]})::${resolveType(schema, t)}`).join(", ")})`).join(", ")
  }, (4${", NULL".repeat(spec.length)})`

/** Creates `schema.name`, filled with {@link insertRows} unless `fill` is false (the types must exist: {@link createTypes}). */
export const createTypeTable = (schema: string, name: string, fill = true) =>
  Effect.gen(function*() {
    yield* sql(`CREATE TABLE ${schema}.${name} (${columnDefinitions(schema)})`)
    if (fill) yield* sql(insertRows(schema, name))
  })

/** A schema of its own (dropped with the scope) holding the types and the table `name` of every type, filled. */
export const typeTableSchema = (prefix: string, name: string) =>
  Effect.gen(function*() {
    const schema = yield* withSchema(prefix)
    yield* createTypes(schema)
    yield* createTypeTable(schema, name)
    return schema
  })
