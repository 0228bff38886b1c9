// Parse and validate an AsyncAPI document with @asyncapi/parser (its built-in ruleset);
// prints every diagnostic and exits 1 on any error or warning.
import { readFileSync } from "node:fs";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const path = process.argv.at(-1);
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(path, "utf8"), { source: path });
const names = ["error", "warning", "info", "hint"];
let failing = 0;
for (const d of diagnostics) {
  const where = (d.path || []).join(".");
  console.log(`${names[d.severity]} ${d.code} ${where}: ${d.message}`);
  if (d.severity <= DiagnosticSeverity.Warning) failing += 1;
}
if (!document) failing += 1;
console.log(`${path}: ${diagnostics.length} diagnostics, ${failing} errors or warnings`);
process.exit(failing ? 1 : 0);
