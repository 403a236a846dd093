#!/usr/bin/env node
// Validates an AsyncAPI document with the AsyncAPI project's own parser.
//
//   node tools/asyncapi/validate.mjs FILE.json    (or a URL: http://127.0.0.1:8000/asyncapi.json)
//
// Exits 0 when the parser reports no error (warnings are printed), 1 otherwise.
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const source = process.argv[2];
if (!source) {
  console.error("usage: validate.mjs FILE.json|URL");
  process.exit(2);
}
const text = /^https?:\/\//.test(source)
  ? await (await fetch(source)).text()
  : await readFile(source, "utf8");

const parser = new Parser();
const { document, diagnostics } = await parser.parse(text);
// Severity: 0 error, 1 warning, 2 information, 3 hint.
const errors = diagnostics.filter((d) => d.severity === 0);
for (const d of diagnostics) {
  const level = ["error", "warning", "info", "hint"][d.severity] ?? d.severity;
  console.log(`${level}: ${d.code}: ${d.message} at /${d.path.join("/")}`);
}
if (!document || errors.length > 0) {
  console.error(`${source}: INVALID (${errors.length} errors)`);
  process.exit(1);
}
const v = document.version();
console.log(
  `${source}: valid AsyncAPI ${v}: ${document.channels().length} channels, ` +
    `${document.operations().length} operations, ${document.messages().length} messages`,
);
